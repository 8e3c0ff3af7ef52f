"""The shadow process next to the uvicorn workers: started before them, restarted when it exits,
stopped after them.

    with ShadowSidecar.for_data_plane() as sidecar:   # sets STRANGLER_SHADOW_SOCKET for the workers
        uvicorn.run(...)
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType

__all__ = ["SHADOW_PARENT_ENV", "SHADOW_SOCKET_ENV", "ShadowSidecar"]

logger = logging.getLogger(__name__)

SHADOW_SOCKET_ENV = "STRANGLER_SHADOW_SOCKET"
SHADOW_PARENT_ENV = "STRANGLER_SHADOW_PARENT"
"""The pid the shadow process must have as parent; it exits as soon as it has another."""
_RESTART_BACKOFF_S = (0.1, 0.5, 1.0, 2.0, 5.0)
_STOP_TIMEOUT_S = 10.0
_CLEAN_EXITS = frozenset({0, -signal.SIGTERM, -signal.SIGINT})
_STOPPED_BY_SIGNAL_WAIT_S = 40.0
"""After a clean exit, how long to wait for the data plane to stop too before restarting: a SIGTERM to
the whole process group reaches the shadow process at once, the data plane only after its graceful
shutdown (uvicorn's ``timeout_graceful_shutdown``, 30 s)."""


class ShadowSidecar:
    """Runs ``python -m strangler_proxy.dataplane.shadow`` and keeps it running."""

    def __init__(
        self,
        socket_path: Path,
        *,
        argv: list[str] | None = None,
        socket_env: str = SHADOW_SOCKET_ENV,
        name: str = "shadow process",
    ) -> None:
        self.socket_path = socket_path
        self._argv = argv or [sys.executable, "-m", "strangler_proxy.dataplane.shadow"]
        self._socket_env = socket_env
        self._name = name
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._own_dir: Path | None = None
        self.starts = 0

    @classmethod
    def for_data_plane(
        cls,
        *,
        argv: list[str] | None = None,
        socket_env: str = SHADOW_SOCKET_ENV,
        name: str = "shadow process",
        socket_name: str = "shadow.sock",
    ) -> ShadowSidecar:
        """A sidecar with its socket in a fresh private directory (short path: Unix sockets allow
        about 100 bytes), exported to the environment the workers inherit (``socket_env``). The same
        supervision runs the per-host store agent (``argv``, ``socket_env`` and ``name`` given)."""
        folder = Path(tempfile.mkdtemp(prefix="strangler-shadow-"))
        sidecar = cls(folder / socket_name, argv=argv, socket_env=socket_env, name=name)
        sidecar._own_dir = folder
        os.environ[socket_env] = str(sidecar.socket_path)
        return sidecar

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def __enter__(self) -> ShadowSidecar:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._spawn()
        self._thread = threading.Thread(target=self._supervise, name="shadow-sidecar", daemon=True)
        self._thread.start()

    def _spawn(self) -> None:
        env = {**os.environ, self._socket_env: str(self.socket_path), SHADOW_PARENT_ENV: str(os.getpid())}
        with self._lock:
            if self._stopping.is_set():
                return
            self._process = subprocess.Popen(self._argv, env=env)
            self.starts += 1

    def _supervise(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            code = process.wait()
            if self._stopping.is_set():
                return
            if code in _CLEAN_EXITS:
                # Stopped by a signal, most likely with the whole data plane (a SIGTERM to its process
                # group): not a crash. Restart only if the data plane goes on serving.
                if self._stopping.wait(_STOPPED_BY_SIGNAL_WAIT_S):
                    return
                logger.warning("%s %s was stopped (exit %s); restarting it", self._name, process.pid, code)
            else:
                delay = _RESTART_BACKOFF_S[min(failures, len(_RESTART_BACKOFF_S) - 1)]
                failures += 1
                logger.error(
                    "%s %s exited with %s; restarting in %.1fs", self._name, process.pid, code, delay
                )
                if self._stopping.wait(delay):
                    return
            try:
                self._spawn()
            except OSError as exc:
                logger.error("%s could not be started: %s", self._name, exc)

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                logger.error(
                    "%s %s did not stop in %.0fs; killing it", self._name, process.pid, _STOP_TIMEOUT_S
                )
                process.kill()
                process.wait()
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT_S)
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
