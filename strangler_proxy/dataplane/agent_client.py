"""A worker's link to its host's store agent (``store_agent.py``): the calls of ``StoreClient`` the
worker makes, answered by the agent over its Unix socket instead of by the store.

One socket per worker, one call at a time (calls run in worker threads, off the event loop); a call
that fails drops the socket and the next one connects again, so a restarted agent is found again.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from strangler_proxy.dataplane.agent_wire import receive, send
from strangler_proxy.dataplane.failing_requests import FailingRequest
from strangler_proxy.dataplane.stats import SecondRow
from strangler_proxy.dataplane.store_client import FoundTable, failure_values, path_values, stat_values
from strangler_proxy.routes import RouteTable
from strangler_proxy.store.pointer import ActivePointer

__all__ = ["AgentStoreClient", "AgentWatcher", "StoreAgentError"]

logger = logging.getLogger(__name__)

_FIRST_CONNECT_S = 10.0
"""How long the first call waits for the agent's socket (the agent and the workers start together)."""


class StoreAgentError(ConnectionError):
    """The agent answered with an error (the store is unreachable) or could not be reached."""


class AgentStoreClient:
    """Quacks like ``StoreClient`` for the worker (``dialect`` "agent": no ``LISTEN`` of its own)."""

    dialect = "agent"

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._connected_once = False

    def _connect(self) -> socket.socket:
        deadline = time.monotonic() + (0 if self._connected_once else _FIRST_CONNECT_S)
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(30)
            try:
                sock.connect(str(self.socket_path))
            except OSError as exc:
                sock.close()
                if time.monotonic() >= deadline:
                    raise StoreAgentError(
                        f"the store agent at {self.socket_path} cannot be reached: {exc}"
                    ) from exc
                time.sleep(0.05)
                continue
            self._connected_once = True
            return sock

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._sock is None:
                self._sock = self._connect()
            sock = self._sock
            try:
                send(sock, request)
                answer = receive(sock)
            except (OSError, ValueError) as exc:
                self._sock = None
                sock.close()
                raise StoreAgentError(f"the store agent's socket failed: {exc}") from exc
        if not answer.get("ok"):
            raise StoreAgentError(str(answer.get("error")))
        return answer

    def may_have_changed(self) -> bool:
        return True

    def poll(self, known_generation: int | None) -> FoundTable | None:
        found = self._call({"op": "poll", "known": known_generation})["found"]
        if found is None:
            return None
        pointer = ActivePointer(
            int(found["version_id"]),
            int(found["generation"]),
            datetime.fromisoformat(found["changed_at"]),
            None if found["previous"] is None else int(found["previous"]),
        )
        table = RouteTable.from_json(found["document"]).with_version(pointer.version_id)
        return FoundTable(pointer, table)

    def write_stats(self, worker: str, rows: Sequence[SecondRow]) -> int:
        if not rows:
            return 0
        return int(self._call({"op": "stats", "values": stat_values(worker, rows)})["written"])

    def write_unmatched_paths(self, worker: str, second: int, shapes: Sequence[tuple[str, int]]) -> int:
        if not shapes:
            return 0
        values = path_values(worker, second, shapes)
        return int(self._call({"op": "unmatched_paths", "values": values})["written"])

    def write_failing_requests(self, worker: str, failures: Sequence[FailingRequest]) -> int:
        if not failures:
            return 0
        values = failure_values(worker, failures)
        return int(self._call({"op": "failing_requests", "values": values})["written"])

    def heartbeat(
        self,
        worker: str,
        pid: int,
        *,
        version_id: int | None,
        generation: int | None,
        applied_at: datetime | None,
    ) -> None:
        self._call(
            {
                "op": "heartbeat",
                "worker": worker,
                "pid": pid,
                "version_id": version_id,
                "generation": generation,
                "applied_at": None if applied_at is None else applied_at.isoformat(),
            }
        )

    def forget(self, worker: str) -> None:
        self._call({"op": "forget", "worker": worker})

    def prune(self, older_than: datetime) -> int:
        return int(self._call({"op": "prune", "older_than": older_than.isoformat()})["pruned"])

    def close(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


class AgentWatcher:
    """Calls ``on_change`` (from its own thread) whenever the agent's active generation changes, and
    once after each (re)connection: the worker's poller polls at once instead of at its next interval.
    Quacks like ``notify.ChangeListener`` (``start``, ``stop``, ``listening``)."""

    def __init__(self, socket_path: Path, on_change: Callable[[], None]) -> None:
        self.socket_path = socket_path
        self._on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.listening = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="store-agent-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        known: int | None = None
        while not self._stop.is_set():
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock = sock
            try:
                sock.connect(str(self.socket_path))
                self.listening = True
                self._on_change()
                while not self._stop.is_set():
                    send(sock, {"op": "watch", "known": known})
                    answer = receive(sock)
                    generation = answer.get("generation")
                    if answer.get("ok") and generation is not None and generation != known:
                        known = generation
                        self._on_change()
            except (OSError, ValueError) as exc:
                if self.listening:
                    logger.warning("store agent watch lost (%s); polling meanwhile, reconnecting", exc)
            finally:
                self.listening = False
                self._sock = None
                sock.close()
            self._stop.wait(0.5)
