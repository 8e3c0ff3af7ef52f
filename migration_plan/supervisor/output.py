"""Children's output, line by line, prefixed with the process name (coloured, aligned), kept in log files."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.text import Text

__all__ = ["SUPERVISOR_NAME", "LogSink", "ProcessLog"]

SUPERVISOR_NAME = "supervisor"
_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan", "bright_magenta")


class LogSink:
    """Writes prefixed lines to the console; one colour per process, names padded to the longest."""

    def __init__(self, console: Console, names: Iterable[str]) -> None:
        self.console = console
        names = [SUPERVISOR_NAME, *names]
        self._width = max(len(name) for name in names)
        self._colours = {name: _COLOURS[index % len(_COLOURS)] for index, name in enumerate(names[1:])}
        self._colours[SUPERVISOR_NAME] = "bold white"

    def line(self, name: str, text: str, *, style: str | None = None) -> None:
        prefix = Text(f"{name:<{self._width}} | ", style=self._colours.get(name, "white"))
        self.console.print(prefix + Text(text, style=style or ""), soft_wrap=True, highlight=False)

    def info(self, text: str) -> None:
        self.line(SUPERVISOR_NAME, text)

    def warning(self, text: str) -> None:
        self.line(SUPERVISOR_NAME, text, style="yellow")

    def error(self, text: str) -> None:
        self.line(SUPERVISOR_NAME, text, style="bold red")


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
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed in close()

    def write(self, text: str) -> None:
        self._tail.append(text)
        self.sink.line(self.name, text)
        if self._file is not None:
            self._file.write(text + "\n")

    def tail(self, count: int = 20) -> list[str]:
        return list(self._tail)[-count:]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
