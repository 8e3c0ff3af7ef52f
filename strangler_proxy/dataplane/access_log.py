"""A structured JSON access log written through a buffer, flushed off the request path.

``record`` appends a tuple; ``flush`` (called by a background task, and at shutdown) turns the
buffered entries into JSON lines and writes them in one system call. A full buffer flushes inline so
memory stays bounded under any load.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

__all__ = ["AccessLog"]

_FIELDS = (
    "ts",
    "request_id",
    "method",
    "path",
    "route",
    "target",
    "upstream",
    "version",
    "status",
    "duration_ms",
    "client",
    "error",
)


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
        path: str,
        route: str,
        target: str,
        upstream: str,
        version: int,
        status: int,
        duration_s: float,
        client: str,
        error: str | None,
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
            )
        )
        if len(self._buffer) >= self._max:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        entries, self._buffer = self._buffer, []
        dumps = json.dumps
        lines = []
        for entry in entries:
            document = dict(zip(_FIELDS, entry, strict=True))
            document["ts"] = round(entry[0], 6)
            document["duration_ms"] = round(entry[9] * 1000, 3)
            lines.append(dumps(document, separators=(",", ":")))
        data = ("\n".join(lines) + "\n").encode()
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
