"""Children's output, line by line, prefixed with the process name (coloured, aligned), kept in log files.

The toolkit's processes write JSON log lines (``timestamp``, ``level``, ``logger``, ``event``,
``trace_id``, ``exception``): the log files keep them as written, for ``grep`` and log shippers; the
console shows each as ``LEVEL logger: event [trace <id>]``, for a person.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

__all__ = ["SUPERVISOR_NAME", "LogSink", "ProcessLog", "readable"]

SUPERVISOR_NAME = "supervisor"
# ANSI colours, one per process; written by hand because this is the hot path of a chatty stack
# (rich renders a line in ~100 us, a formatted write costs ~2 us).
_COLOURS = ("36", "35", "32", "33", "34", "91", "96", "95")
_SUPERVISOR_COLOUR = "1;37"
_STYLES = {"warning": "33", "error": "1;31"}


def readable(text: str) -> str:
    """A JSON log line as a person reads it (``WARNING strangler_proxy.dataplane.forward: falling back
    ... [trace 4bf9...]``, the exception's text on the lines after); any other line as it is."""
    if not text.startswith("{"):
        return text
    try:
        line = json.loads(text)
    except ValueError:
        return text
    if not isinstance(line, dict) or "event" not in line:
        return text
    level = str(line.get("level", "")).upper()
    shown = f"{level} {line.get('logger', '')}: {line['event']}".strip()
    if line.get("trace_id"):
        shown += f" [trace {line['trace_id']}]"
    if line.get("exception"):
        shown += "\n" + str(line["exception"])
    return shown


class LogSink:
    """Writes prefixed lines to ``stream``; one colour per process, names padded to the longest."""

    def __init__(self, stream: TextIO, names: Iterable[str], *, colour: bool = False) -> None:
        self.stream = stream
        names = [SUPERVISOR_NAME, *names]
        width = max(len(name) for name in names)
        self._colour = colour
        self._closed = False
        self._prefixes: dict[str, str] = {}
        for index, name in enumerate(names):
            code = _SUPERVISOR_COLOUR if index == 0 else _COLOURS[(index - 1) % len(_COLOURS)]
            self._prefixes[name] = self._paint(f"{name:<{width}} | ", code)

    def _paint(self, text: str, code: str | None) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self._colour and code else text

    def line(self, name: str, text: str, *, style: str | None = None) -> None:
        if self._closed:
            return
        prefix = self._prefixes.get(name) or self._paint(f"{name} | ", None)
        try:
            self.stream.write(f"{prefix}{self._paint(text, _STYLES.get(style or ''))}\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            # Whoever read our output is gone (`strangler up | head`); the log files keep everything,
            # and the children must not block on a full pipe because of it.
            self._closed = True

    def info(self, text: str) -> None:
        self.line(SUPERVISOR_NAME, text)

    def warning(self, text: str) -> None:
        self.line(SUPERVISOR_NAME, text, style="warning")

    def error(self, text: str) -> None:
        self.line(SUPERVISOR_NAME, text, style="error")


class ProcessLog:
    """One process's output: echoed to the sink, appended to ``logs/<name>.log``, its tail kept in memory."""

    def __init__(self, name: str, sink: LogSink, log_dir: Path, *, keep: int = 40) -> None:
        self.name = name
        self.sink = sink
        self.path = log_dir / f"{name}.log"
        self._tail: deque[str] = deque(maxlen=keep)
        self._file: TextIO | None = None

    def open(self) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # only the owner reads the logs: they may hold request details and addresses
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._file = open(descriptor, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed in close()

    def write(self, text: str) -> None:
        self._tail.append(text)
        self.sink.line(self.name, readable(text))
        if self._file is not None:
            self._file.write(text + "\n")

    def tail(self, count: int = 20) -> list[str]:
        return list(self._tail)[-count:]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
