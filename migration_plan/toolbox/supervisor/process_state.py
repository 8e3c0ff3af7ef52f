"""What a supervised process's life is called: its states, how it ended (an exit code or a signal), the
error that names it when it does not come up."""

from __future__ import annotations

import asyncio
import signal
import socket
from enum import StrEnum

__all__ = ["ProcessState", "StartupError", "describe_exit", "exit_code", "port_in_use"]

_POLL_S = 0.05


class ProcessState(StrEnum):
    PENDING = "pending"
    SETUP = "setup"
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    STOPPING = "stopping"
    STOPPED = "stopped"
    EXITED = "exited"
    FAILED = "failed"


class StartupError(Exception):
    """A process did not come up: it names the process, says why, and shows its last log lines."""

    def __init__(self, name: str, reason: str, tail: list[str]) -> None:
        super().__init__(name, reason)
        self.name = name
        self.reason = reason
        self.tail = tail

    def __str__(self) -> str:
        text = f"{self.name} failed to start: {self.reason}"
        if self.tail:
            text += f"\n--- last {len(self.tail)} lines of {self.name} ---\n" + "\n".join(self.tail)
        return text


def describe_exit(returncode: int | None) -> str:
    """``exit code 3`` or ``killed by SIGKILL`` (asyncio reports a signal as a negative code)."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


async def exit_code(proc: asyncio.subprocess.Process) -> int:
    """The exit code, as soon as the child has exited.

    ``Process.wait()`` also waits for the output pipe to close, which a grandchild that inherited it can
    keep open forever; ``returncode`` is set the moment the child is reaped.
    """
    while proc.returncode is None:
        await asyncio.sleep(_POLL_S)
    return proc.returncode


def port_in_use(port: int) -> bool:
    """Whether something listens on ``port`` of 127.0.0.1."""
    try:
        # Loopback answers at once (accept or refuse); a blocking check keeps it free of cancel races.
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
