"""Scoped service tokens: a service calls the monolith as itself, with only the calls it needs.

An extracted service that still calls the monolith's API (the orders service reserving stock) should
not hold a person's credentials. The project lists its services in ``STRANGLER_SERVICE_TOKENS``::

    STRANGLER_SERVICE_TOKENS = {
        "orders": {
            "token_file": DATA_DIR / "service_tokens" / "orders",  # created at first start, 0600
            "allow": [("POST", r"/api/invoices/\\d+/payments")],  # (method, full-match path regex)
        },
    }

and adds ``strangler_django.service_tokens.ServiceTokenMiddleware`` after Django's
``AuthenticationMiddleware``. A request with ``Authorization: Bearer <that service's token>``:

* to an allowed method and path: runs as the service's own user (``service-<name>``, created on first
  use: no usable password, the user model's defaults: not staff, no permissions), with
  ``request.strangler_service = "<name>"`` for the view to check, and without Django's CSRF check (a
  browser never sends a bearer token on its own);
* to anything else: 403 ``permission_denied``, naming the service, before any view runs.

Every request made with a token is audited (logger ``strangler_django.audit``: service, method, path,
status, never the token). The token file is read again when it changes (a rotation is writing a new
token into it: no restart), and created, if missing, when the app starts (:func:`ensure_token_files`).
A bearer token that is no service's is left alone (the project's own authentication may know it).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse

from strangler_django.http import error_response

__all__ = ["ServiceTokenMiddleware", "ensure_token_files", "service_tokens"]

audit = logging.getLogger("strangler_django.audit")


@dataclass(frozen=True)
class ServiceToken:
    name: str
    token_file: Path
    allow: tuple[tuple[str, re.Pattern[str]], ...]

    @property
    def username(self) -> str:
        return f"service-{self.name}"

    def allows(self, method: str, path: str) -> bool:
        return any(method == allowed and pattern.fullmatch(path) for allowed, pattern in self.allow)


def service_tokens() -> tuple[ServiceToken, ...]:
    """``STRANGLER_SERVICE_TOKENS`` read and checked (ValueError naming what is wrong)."""
    configured: Mapping[str, Any] = getattr(settings, "STRANGLER_SERVICE_TOKENS", {}) or {}
    found = []
    for name, entry in configured.items():
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,39}", name):
            raise ValueError(f"STRANGLER_SERVICE_TOKENS: {name!r} is not a service name ([a-z][a-z0-9_-]*)")
        if not entry.get("token_file") or not entry.get("allow"):
            raise ValueError(f"STRANGLER_SERVICE_TOKENS[{name!r}] needs a token_file and an allow list")
        allow = tuple((str(method).upper(), re.compile(str(path))) for method, path in entry["allow"])
        found.append(ServiceToken(name, Path(entry["token_file"]), allow))
    return tuple(found)


def ensure_token_files() -> None:
    """Create every missing token file (0600, in a 0700 folder), atomically: concurrent starters (two
    gunicorn workers) end up with the same token. Each creation is audited (never the token)."""
    for service in service_tokens():
        path = service.token_file
        if path.exists():
            continue
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(40))
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
                audit.info("service token created for %s in %s", service.name, path)
        finally:
            temporary.unlink(missing_ok=True)


class _TokenFiles:
    """Each service's current token, read again when its file changes (a rotation)."""

    def __init__(self) -> None:
        self._seen: dict[Path, tuple[int, int, str]] = {}
        self._lock = threading.Lock()

    def token(self, path: Path) -> str | None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        with self._lock:
            cached = self._seen.get(path)
            if cached is not None and cached[:2] == (stat.st_mtime_ns, stat.st_size):
                return cached[2] or None
            value = path.read_text(encoding="utf-8").strip()
            if cached is not None and cached[2] != value:
                audit.info("service token in %s changed: the new one is in use", path)
            self._seen[path] = (stat.st_mtime_ns, stat.st_size, value)
            return value or None


class ServiceTokenMiddleware:
    """Authenticates a service's bearer token within its scope (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._services = service_tokens()
        self._files = _TokenFiles()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not self._services or header[:7].lower() != "bearer ":
            return self.get_response(request)
        presented = header[7:].strip()
        service = next(
            (
                candidate
                for candidate in self._services
                if (token := self._files.token(candidate.token_file))
                and hmac.compare_digest(token.encode(), presented.encode())
            ),
            None,
        )
        if service is None:
            return self.get_response(request)
        if not service.allows(request.method or "", request.path):
            audit.warning(
                "service %s refused: %s %s is outside its scope", service.name, request.method, request.path
            )
            return error_response(
                403,
                "permission_denied",
                f"The {service.name} service's token may not {request.method} {request.path}.",
            )
        model = get_user_model()
        user, created = model.objects.get_or_create(**{model.USERNAME_FIELD: service.username})
        if created:
            user.set_unusable_password()
            user.save()
            audit.info("service user %s created for the %s service token", service.username, service.name)
        request.user = user
        request.strangler_service = service.name
        request._dont_enforce_csrf_checks = True
        response = self.get_response(request)
        audit.info(
            "service %s: %s %s -> %s", service.name, request.method, request.path, response.status_code
        )
        return response
