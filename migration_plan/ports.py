"""Loopback ports handed out in turn, so two stacks started at once never get the same one.

Asking the kernel for port 0 and closing the socket is racy: the kernel hands the same port to the next
``bind(("127.0.0.1", 0))`` or outgoing connection, possibly before the server this port was meant for
binds it, and the stack then fails with "Address already in use" (or, worse, its readiness check talks
to someone else's server). Ports are instead handed out from ``PORT_RANGE``, below the kernel's ephemeral
range (32768-60999 by default), through a cursor file shared by every process on the machine and taken
under an exclusive lock: no two callers get the same port until the whole range has been walked through.
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
from pathlib import Path

__all__ = ["PORT_RANGE", "free_port", "free_port_range"]

PORT_RANGE = range(20000, 32000)
_CURSOR_FILE = Path(tempfile.gettempdir()) / "strangler-fig-test-ports"


def free_port(cursor_file: Path | None = None) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on and no other caller was given lately."""
    return free_port_range(1, cursor_file)


def free_port_range(count: int, cursor_file: Path | None = None) -> int:
    """The first of ``count`` consecutive free ports (sync workers take a base port and the next ones)."""
    if count < 1 or count > len(PORT_RANGE):
        raise ValueError(f"count must be between 1 and {len(PORT_RANGE)}, not {count}")
    path = cursor_file or _CURSOR_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        stored = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        start = int(stored) if stored.isdigit() and int(stored) in PORT_RANGE else PORT_RANGE.start
        for step in range(len(PORT_RANGE)):
            base = PORT_RANGE.start + (start - PORT_RANGE.start + step) % len(PORT_RANGE)
            if base + count > PORT_RANGE.stop:
                continue
            if all(_bindable(port) for port in range(base, base + count)):
                following = PORT_RANGE.start + (base + count - PORT_RANGE.start) % len(PORT_RANGE)
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(following).encode("ascii"), 0)
                return base
        raise RuntimeError(
            f"no {count} consecutive free TCP port(s) on 127.0.0.1 "
            f"in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}"
        )
    finally:
        os.close(fd)  # closing releases the lock


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
