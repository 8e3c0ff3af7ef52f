"""The HAProxy process the agent runs: master-worker mode, checked configurations, seamless reloads.

The master is the agent's child, in a session of its own, and dies with it (``PR_SET_PDEATHSIG``).
A reload goes through the master CLI, which starts a new worker on the same listening sockets while
the old one finishes its requests (answers on kept-alive connections carry ``Connection: close``
first, ``option idle-close-on-response``), at most ``hard-stop-after`` long.

Errors::

    EngineConfigRefused   ``haproxy -c`` refused a rendered configuration (its messages attached)
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
from pathlib import Path

from strangler_proxy.engines.haproxy.runtime import master_command

__all__ = ["EngineConfigRefused", "HaproxyProcess", "check_config"]

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


class EngineConfigRefused(ValueError):
    """HAProxy's own check refused the configuration."""


def check_config(binary: str, config: Path) -> None:
    """Raise :class:`EngineConfigRefused` unless ``haproxy -c`` accepts ``config``."""
    result = subprocess.run(
        [binary, "-c", "-q", "-f", str(config)], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        messages = (result.stderr or result.stdout).strip()
        raise EngineConfigRefused(f"haproxy refused {config}: {messages[-2000:]}")


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM when the agent is gone."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class HaproxyProcess:
    """One HAProxy master (and its workers), started on ``config``."""

    def __init__(self, binary: str, config: Path, master_socket: Path) -> None:
        self._binary = binary
        self._config = config
        self._master_socket = master_socket
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._popen is None else self._popen.pid

    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def exit_code(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def start(self) -> None:
        self._master_socket.unlink(missing_ok=True)
        argv = [self._binary, "-W", "-db", "-f", str(self._config), "-S", f"{self._master_socket},mode,600"]
        # A session of its own: a signal to the agent's process group (a supervisor stopping it) must
        # reach HAProxy through the agent, as a soft stop, not as an immediate SIGTERM.
        self._popen = subprocess.Popen(argv, preexec_fn=_die_with_parent, start_new_session=True)
        logger.info("haproxy master started (pid %s) on %s", self._popen.pid, self._config)

    def reload(self) -> None:
        """Ask the master to reload the configuration file (already checked)."""
        master_command(self._master_socket, "reload")

    def stop(self, grace_s: float) -> None:
        """Soft stop (SIGUSR1: stop listening, finish the requests in flight), SIGTERM after ``grace_s``."""
        popen = self._popen
        if popen is None or popen.poll() is not None:
            return
        os.kill(popen.pid, signal.SIGUSR1)
        try:
            popen.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            logger.warning("haproxy did not stop within %.0fs; terminating it", grace_s)
            popen.terminate()
            try:
                popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(timeout=5)
