"""A structured JSON access log written through a buffer, flushed off the request path.

``record`` appends a tuple (the path may be the raw bytes: they are decoded as latin-1 when
formatted); ``flush`` (called by a background task, and at shutdown) turns the buffered entries into
JSON lines and writes them in one system call. A full buffer flushes inline so memory stays bounded
under any load.
"""

from __future__ import annotations

import os
import sys
import time
from json.encoder import encode_basestring_ascii as _quote
from pathlib import Path

__all__ = ["AccessLog", "format_entry"]

_TEMPLATE = (
    '{"ts":%d.%06d,"request_id":%s,"method":%s,"path":%s,"route":%s,"target":%s,"upstream":%s,'
    '"version":%d,"status":%d,"duration_ms":%d.%03d,"client":%s,"error":%s,"trace_id":%s}\n'
)


def format_entry(entry: tuple) -> str:
    """One JSON line; every string goes through the C JSON string encoder, so any value is safe.
    The time (in seconds) and the duration (in milliseconds) are written with microsecond digits
    from integers, which is cheaper than formatting floats. A WebSocket's entry (from
    :meth:`AccessLog.record_socket`) adds ``bytes_up`` and ``bytes_down``."""
    fields = len(entry)
    if fields == _SOCKET_FIELDS:
        line = format_entry(entry[:-2])
        return f'{line[:-2]},"bytes_up":{entry[-2]:d},"bytes_down":{entry[-1]:d}}}\n'
    traceparent = entry[12] if fields == _TRACED_FIELDS else ""
    ts, request_id, method, path, route, target, upstream, version, status, duration_s, client, error = entry[
        :12
    ]
    seconds, micros = divmod(round(ts * 1e6), 1_000_000)
    millis, rest = divmod(round(duration_s * 1e6), 1000)
    return _TEMPLATE % (
        seconds,
        micros,
        _quote(request_id),
        _quote(method),
        _quote(path if path.__class__ is str else path.decode("latin-1")),
        _quote(route),
        _quote(target),
        _quote(upstream),
        version,
        status,
        millis,
        rest,
        _quote(client),
        "null" if error is None else _quote(error),
        f'"{traceparent[3:35]}"' if len(traceparent) == 55 else "null",
    )


_SOCKET_FIELDS = 14
_TRACED_FIELDS = 13
"""An HTTP entry with the request's traceparent last (its trace id is logged as ``trace_id``)."""


class AccessLog:
    def __init__(self, path: Path | None = None, *, max_buffered: int = 20_000) -> None:
        self._path = path
        self._fd: int | None = None
        self._buffer: list[tuple[object, ...]] = []
        self._max = max_buffered

    def open(self) -> None:
        if self._path is None:
            self._fd = sys.stdout.fileno()
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def record(
        self,
        request_id: str,
        method: str,
        path: str | bytes,
        route: str,
        target: str,
        upstream: str,
        version: int,
        status: int,
        duration_s: float,
        client: str,
        error: str | None,
        traceparent: str = "",
    ) -> None:
        self._buffer.append(
            (
                time.time(),
                request_id,
                method,
                path,
                route,
                target,
                upstream,
                version,
                status,
                duration_s,
                client,
                error,
                traceparent,
            )
        )
        if len(self._buffer) >= self._max:
            self.flush()

    def record_socket(
        self,
        request_id: str,
        path: str | bytes,
        route: str,
        target: str,
        upstream: str,
        version: int,
        duration_s: float,
        client: str,
        outcome: str,
        bytes_up: int,
        bytes_down: int,
    ) -> None:
        """A relayed WebSocket, when it ends: status 101, its whole duration, ``error`` the outcome
        (``client_closed``, ``upstream_closed``, ``idle_timeout``, ``moved``, ``shutdown``) and the
        bytes each way."""
        self._buffer.append(
            (
                time.time(),
                request_id,
                "GET",
                path,
                route,
                target,
                upstream,
                version,
                101,
                duration_s,
                client,
                outcome,
                bytes_up,
                bytes_down,
            )
        )
        if len(self._buffer) >= self._max:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        entries, self._buffer = self._buffer, []
        data = "".join([format_entry(entry) for entry in entries]).encode()
        if self._fd is None:
            self.open()
        assert self._fd is not None
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def close(self) -> None:
        self.flush()
        if self._fd is not None and self._path is not None:
            os.close(self._fd)
        self._fd = None
