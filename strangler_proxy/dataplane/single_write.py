"""An ASGI extension between the data plane's protocol and its forwarder: a whole answer in one write.

A server offering it puts :data:`SINGLE_WRITE` in ``scope["extensions"]``. The application may then
send an ``http.response.start`` message that carries the complete body under :data:`WHOLE_BODY`:
that one message is the whole answer (no ``http.response.body`` follows), and the server writes status
line, headers and body to the socket in one system call instead of two. Without the extension in the
scope, an application sends the usual two messages.
"""

from __future__ import annotations

__all__ = ["NO_CONTENT_STATUSES", "SINGLE_WRITE", "WHOLE_BODY"]

SINGLE_WRITE = "strangler.single_write"
"""The extension's name in ``scope["extensions"]``."""
WHOLE_BODY = "strangler.body"
"""Key of the complete body in an ``http.response.start`` message."""
NO_CONTENT_STATUSES = frozenset({204, 304})
"""Answers without content whatever their Content-Length says (RFC 9110 sections 6.4.1 and 8.6: a 304
may carry the length the 200 would have had): whole answers with an empty body."""
