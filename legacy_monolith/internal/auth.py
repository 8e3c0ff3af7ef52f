"""The shared secret of the internal endpoints: ``Authorization: Bearer <token>``."""

import hmac

from django.conf import settings

__all__ = ["has_internal_token"]


def has_internal_token(request) -> bool:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(token.strip().encode(), settings.INTERNAL_TOKEN.encode())
