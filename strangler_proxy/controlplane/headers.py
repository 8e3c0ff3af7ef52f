"""Security headers on every control-plane response (a plain ASGI middleware).

- a strict Content Security Policy: scripts, styles, images and connections from this origin only, no
  inline script or style (the templates carry no inline handler and no style attribute; the UI's own
  behaviour is in ``static/admin.js``), no plugins, no ``<base>``, forms post here only, and no framing
  by another site (clickjacking on the flip and panic buttons);
- ``Cache-Control: no-store`` on everything but the static files: pages, API answers and the answer
  carrying a new token are never kept by a browser or proxy cache;
- no content sniffing, and the referrer stays on this site.

Headers a response already sets are left as they are.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "NO_STORE", "SECURITY_HEADERS", "SecurityHeaders"]

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
NO_STORE = {"Cache-Control": "no-store"}
"""For answers that carry a secret (a new token): no cache may keep them."""
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
)
_NO_STORE = (b"cache-control", b"no-store")
_STATIC = "/static/"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = SECURITY_HEADERS if scope["path"].startswith(_STATIC) else (*SECURITY_HEADERS, _NO_STORE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in wanted if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
