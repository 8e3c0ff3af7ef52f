"""Django-compatible CSRF masking."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from new_services.kit.csrf import ALLOWED_CHARS, SECRET_LENGTH, mask_secret, unmask_token

pytestmark = pytest.mark.unit


@settings(deadline=None)  # wall-clock limits flake on a loaded machine
@given(st.text(alphabet=ALLOWED_CHARS, min_size=SECRET_LENGTH, max_size=SECRET_LENGTH))
def test_mask_round_trips_and_is_fresh_each_time(secret: str) -> None:
    first, second = mask_secret(secret), mask_secret(secret)
    assert len(first) == 2 * SECRET_LENGTH and all(char in ALLOWED_CHARS for char in first)
    assert unmask_token(first) == unmask_token(second) == secret
    assert first != second


def test_a_token_masked_by_django_unmasks_here() -> None:
    # a token and cookie pair produced by Django 5.2's get_token()
    from django.middleware.csrf import _mask_cipher_secret

    secret = "ULCkEnbnWirdrqydEOevXuK3T8lC0Wu8"
    assert unmask_token(_mask_cipher_secret(secret)) == secret
