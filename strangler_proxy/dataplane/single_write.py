"""An ASGI extension between the data plane's protocol and its forwarder: a whole answer in one write.

A server offering it puts :data:`SINGLE_WRITE` in ``scope["extensions"]``. The application may then
send an ``http.response.start`` message that carries the complete body under :data:`WHOLE_BODY`:
that one message is the whole answer (no ``http.response.body`` follows), and the server writes status
line, headers and body to the socket in one system call instead of two. Without the extension in the
scope, an application sends the usual two messages.
"""

from __future__ import annotations

__all__ = ["SINGLE_WRITE", "WHOLE_BODY"]

SINGLE_WRITE = "strangler.single_write"
"""The extension's name in ``scope["extensions"]``."""
WHOLE_BODY = "strangler.body"
"""Key of the complete body in an ``http.response.start`` message."""
