"""Just enough of RFC 6455 framing to close a relayed WebSocket cleanly.

The relay passes bytes untouched and never decodes a message. To close a socket itself (a rollback
moved its route, the worker stops, it sat idle) it must add a Close frame between two frames, never
inside one, so it follows each direction's frame boundaries: :class:`FrameCursor` reads the frame
headers as they pass (two to fourteen bytes per frame, payloads skipped by length) and says whether
the bytes so far end on a boundary. Control frames may come between the fragments of a message
(RFC 6455 section 5.4), so a boundary between two frames is always a place for a Close frame.
"""

from __future__ import annotations

import os
import struct

__all__ = ["CLOSE", "FrameCursor", "close_frame"]

CLOSE = 0x8


class FrameCursor:
    """Follows the frames of one direction of a WebSocket; ``at_boundary`` after each ``feed``."""

    __slots__ = ("_header", "_remaining", "closed", "last_opcode")

    def __init__(self) -> None:
        self._header = b""
        """The bytes of a frame header received so far (a header may be split across reads)."""
        self._remaining = 0
        """Payload bytes of the current frame still to come."""
        self.last_opcode: int | None = None
        self.closed = False
        """A complete Close frame went this way."""

    @property
    def at_boundary(self) -> bool:
        return self._remaining == 0 and not self._header

    def feed(self, data: bytes) -> None:
        """Follow ``data``, all of it."""
        self._advance(data, stop_at_boundary=False)

    def feed_to_boundary(self, data: bytes) -> int:
        """Follow ``data`` up to the first frame boundary; returns how many bytes that took (0 when
        already on a boundary, ``len(data)`` when the frame in flight goes on past it)."""
        if self.at_boundary:
            return 0
        return self._advance(data, stop_at_boundary=True)

    def _advance(self, data: bytes, *, stop_at_boundary: bool) -> int:
        view = memoryview(data)
        position, end = 0, len(view)
        while position < end:
            if self._remaining:
                step = min(self._remaining, end - position)
                self._remaining -= step
                position += step
                if self._remaining == 0:
                    if self.last_opcode == CLOSE:
                        self.closed = True
                    if stop_at_boundary:
                        return position
                continue
            header = self._header + bytes(view[position : position + 14])
            needed = _header_length(header)
            if needed is None or len(header) < needed:
                position += len(header) - len(self._header)
                self._header = header
                continue
            position += needed - len(self._header)
            self._header = b""
            self.last_opcode = header[0] & 0x0F
            self._remaining = _payload_length(header)
            if self._remaining == 0:
                if self.last_opcode == CLOSE:
                    self.closed = True
                if stop_at_boundary:
                    return position
        return position


def _header_length(header: bytes) -> int | None:
    """The length of the frame header that starts ``header``; None when too few bytes tell."""
    if len(header) < 2:
        return None
    size = header[1] & 0x7F
    length = 2 + (2 if size == 126 else 8 if size == 127 else 0)
    return length + (4 if header[1] & 0x80 else 0)


def _payload_length(header: bytes) -> int:
    size = header[1] & 0x7F
    if size == 126:
        return int(struct.unpack_from("!H", header, 2)[0])
    if size == 127:
        return int(struct.unpack_from("!Q", header, 2)[0])
    return size


def close_frame(code: int, reason: str, *, masked: bool) -> bytes:
    """A Close frame with ``code`` and ``reason`` (at most 123 bytes of UTF-8); ``masked`` for frames
    a client sends (RFC 6455 section 5.3), which the relay sends to the upstream on the client's
    behalf."""
    payload = struct.pack("!H", code) + reason.encode("utf-8")[:123]
    if not masked:
        return bytes((0x80 | CLOSE, len(payload))) + payload
    key = os.urandom(4)
    hidden = bytes(byte ^ key[i % 4] for i, byte in enumerate(payload))
    return bytes((0x80 | CLOSE, 0x80 | len(payload))) + key + hidden
