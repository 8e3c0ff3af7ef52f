"""Loopback ports and readiness checks."""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["PORT_RANGE", "free_port", "wait_for_http", "wait_for_port"]

# Below the kernel's ephemeral range (32768-60999 by default), so a port handed out here is never the
# one the kernel gives to a ``bind(("127.0.0.1", 0))`` elsewhere, nor to an outgoing connection.
PORT_RANGE = range(20000, 32000)
_CURSOR_FILE = Path(tempfile.gettempdir()) / "strangler-fig-test-ports"


def free_port(cursor_file: Path | None = None) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on and that no other test process was given lately.

    Asking the kernel for port 0 and closing the socket is racy under pytest-xdist: the kernel may give
    the same port to another worker before the process this one starts binds it, and a readiness check
    then talks to the other worker's server. Ports are instead handed out in turn from ``PORT_RANGE``
    through a cursor file shared by every process on the machine (under an exclusive lock), so two
    processes are never given the same port until the whole range has been walked through.
    """
    path = cursor_file or _CURSOR_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        stored = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        start = int(stored) if stored.isdigit() and int(stored) in PORT_RANGE else PORT_RANGE.start
        for step in range(len(PORT_RANGE)):
            port = PORT_RANGE.start + (start - PORT_RANGE.start + step) % len(PORT_RANGE)
            if _bindable(port):
                following = PORT_RANGE.start + (port + 1 - PORT_RANGE.start) % len(PORT_RANGE)
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(following).encode("ascii"), 0)
                return port
        raise RuntimeError(f"no free TCP port on 127.0.0.1 in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")
    finally:
        os.close(fd)  # closing releases the lock


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for_port(port: int, *, host: str = "127.0.0.1", timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


def wait_for_http(url: str, *, timeout: float = 30.0, expect_status: int = 200, alive=None) -> None:
    """Poll ``url`` until it answers ``expect_status``; ``alive()`` returning False aborts early."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError(f"the process serving {url} exited before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == expect_status:
                    return
                last = response.status
        except urllib.error.HTTPError as exc:
            last = exc.code
            if exc.code == expect_status:
                return
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout}s (last: {last!r})")
