"""``Idempotency-Key`` for a view that changes state: a retried request is answered, not applied again.

Wrap the view (inside whatever authenticates the request, so the key belongs to its user)::

    @api_view(["POST"], basic_auth=True)
    @idempotent
    def stock_change(request, pk): ...

A request without the header runs as before. With it, the view runs in a transaction that also records
the key (scoped to the user and the path) with a fingerprint of the request (method, path, body) and a
2xx answer; a later request with the same key and the same fingerprint gets the recorded answer again
(header ``Idempotent-Replayed: true``) and changes nothing, one with another fingerprint gets 422
``idempotency_key_reused``. An answer that is not 2xx is not recorded (it changed nothing; asking again
may succeed). Two concurrent requests with one key: the second's transaction, stock change included,
is rolled back by the key's unique constraint and it gets the first one's answer.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from strangler_django.http import error_response
from strangler_django.models import IdempotencyRecord

__all__ = ["IDEMPOTENCY_HEADER", "idempotent"]

IDEMPOTENCY_HEADER = "HTTP_IDEMPOTENCY_KEY"
_MAX_KEY = 255
View = Callable[..., HttpResponse]


class _NotRecorded(Exception):
    """Rolls back a transaction whose answer is not kept (not 2xx), carrying the answer out."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.body), status=record.status, content_type=record.content_type)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: View) -> View:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.META.get(IDEMPOTENCY_HEADER)
        if key is None:
            return view(request, *args, **kwargs)
        if not key or len(key) > _MAX_KEY or not key.isascii() or not key.isprintable():
            return error_response(
                400,
                "invalid_parameter",
                f"Idempotency-Key must be 1-{_MAX_KEY} printable ASCII characters.",
                "Idempotency-Key",
            )
        user = getattr(request, "user", None)
        scope = {
            "user_id": str(user.pk) if user is not None and user.is_authenticated else "",
            "path": request.path[:255],
            "key": key,
        }
        fingerprint = _fingerprint(request)
        found = IdempotencyRecord.objects.filter(**scope).first()
        if found is None:
            try:
                with transaction.atomic():
                    response = view(request, *args, **kwargs)
                    if not 200 <= response.status_code < 300:
                        raise _NotRecorded(response)
                    IdempotencyRecord.objects.create(
                        **scope,
                        fingerprint=fingerprint,
                        status=response.status_code,
                        content_type=response.get("Content-Type", "application/json"),
                        body=response.content,
                    )
                return response
            except _NotRecorded as refused:
                return refused.response
            except IntegrityError:
                found = IdempotencyRecord.objects.filter(**scope).first()
                if found is None:
                    raise
        if found.fingerprint != fingerprint:
            return error_response(
                422,
                "idempotency_key_reused",
                "This Idempotency-Key was already used with a different request.",
                "Idempotency-Key",
            )
        return _replay(found)

    return wrapper
