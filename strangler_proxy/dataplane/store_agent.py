"""The per-host store agent: one set of store connections for every worker of a data plane.

Without it each worker holds two PostgreSQL connections (its store client and its ``LISTEN``), so a
host's connections grow with its cores. With it (PostgreSQL stores; ``STRANGLER_STORE_AGENT``, on by
default), ``python -m strangler_proxy.dataplane`` runs this process beside the workers, supervised
like the shadow process. It holds the host's two connections: it follows the active pointer (woken by
``NOTIFY``, polling every ``poll_interval_s`` as a fallback) and keeps the active table in memory;
the workers ask it for the table over a Unix socket (``STRANGLER_STORE_AGENT_SOCKET``) instead of the
store (and keep one more connection to it open, a *watch*, that it answers as soon as the active
version changes: it wakes their poller as ``NOTIFY`` would), and hand it their per-second figures and
heartbeats, which it writes through its one connection. SQLite stores do not use it (a file has no
connection limit).

A store the agent cannot reach is reported to every worker's poll as an error, so each worker keeps
serving its table and says so in ``/readyz`` exactly as when it held the connection itself.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from strangler_proxy.dataplane.agent_wire import STORE_AGENT_SOCKET_ENV, WireError, receive, send
from strangler_proxy.dataplane.notify import ChangeListener
from strangler_proxy.dataplane.settings import DataPlaneSettings
from strangler_proxy.dataplane.store_client import StoreClient
from strangler_proxy.json_logs import configure_json_logging

__all__ = ["STORE_AGENT_SOCKET_ENV", "StoreAgent", "main"]

logger = logging.getLogger(__name__)

_WATCH_S = 20.0
"""The longest a watch waits before answering with the unchanged generation (then it is renewed)."""
_DRAIN_S = 40.0
"""After a first SIGTERM, how long the agent serves on while its supervisor still runs (the workers'
graceful shutdown, uvicorn's 30 s, then the supervisor's own stop)."""


@dataclass(frozen=True, slots=True)
class _Active:
    version_id: int
    generation: int
    changed_at: str
    previous: int | None
    document: str


class StoreAgent:
    """Follows the store for the workers of one host; ``serve_forever`` on ``socket_path``."""

    def __init__(self, store: StoreClient, *, poll_interval_s: float) -> None:
        self._store = store
        self._interval = poll_interval_s
        self._active: _Active | None = None
        self._error: str | None = "the store has not been read yet"
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self.requests = 0

    # --- following the store ------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the pointer (and the document when it moved); record the error when it fails."""
        try:
            pointer = self._store.pointer()
            if pointer is not None and (
                self._active is None or self._active.generation != pointer.generation
            ):
                table = self._store.load(pointer.version_id)
                with self._changed:
                    self._active = _Active(
                        pointer.version_id,
                        pointer.generation,
                        pointer.changed_at.isoformat(),
                        pointer.previous_version_id,
                        table.to_json(),
                    )
                    self._changed.notify_all()
        except Exception as exc:
            if self._error is None:
                logger.warning("store agent: the store is unreachable: %s", exc)
            self._error = f"{type(exc).__name__}: {exc}"
            return
        if self._error is not None:
            logger.info(
                "store agent: the store answers (version %s)", self._active and self._active.version_id
            )
        self._error = None

    def wake(self) -> None:
        self._wake.set()

    def follow(self) -> None:
        """Refresh on every notification, and every ``poll_interval_s`` at least (a thread)."""
        while not self._stopping.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            self.refresh()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        with self._changed:
            self._changed.notify_all()

    def watch(self, known: int | None, timeout_s: float) -> int | None:
        """Block until the active generation is not ``known`` (or ``timeout_s`` passed); the
        generation then. A worker's watcher wakes its poller with it, as ``NOTIFY`` would."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not self._stopping.is_set():
                active = self._active
                if active is not None and active.generation != known:
                    return active.generation
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
        return None if self._active is None else self._active.generation

    # --- answering the workers ----------------------------------------------------------------
    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """One request of a worker (any thread)."""
        self.requests += 1
        op = request.get("op")
        if op == "poll":
            if self._error is not None:
                raise ConnectionError(f"the store agent cannot reach the store: {self._error}")
            active = self._active
            if active is None or active.generation == request.get("known"):
                return {"ok": True, "found": None}
            return {
                "ok": True,
                "found": {
                    "version_id": active.version_id,
                    "generation": active.generation,
                    "changed_at": active.changed_at,
                    "previous": active.previous,
                    "document": active.document,
                },
            }
        if op == "watch":
            return {"ok": True, "generation": self.watch(request.get("known"), _WATCH_S)}
        if op == "stats":
            return {"ok": True, "written": self._store.write_stat_values(request["values"])}
        if op == "unmatched_paths":
            return {"ok": True, "written": self._store.write_path_values(request["values"])}
        if op == "failing_requests":
            return {"ok": True, "written": self._store.write_failure_values(request["values"])}
        if op == "heartbeat":
            applied = request.get("applied_at")
            self._store.heartbeat(
                request["worker"],
                int(request["pid"]),
                version_id=request.get("version_id"),
                generation=request.get("generation"),
                applied_at=None if applied is None else datetime.fromisoformat(applied),
            )
            return {"ok": True}
        if op == "forget":
            self._store.forget(request["worker"])
            return {"ok": True}
        if op == "prune":
            return {"ok": True, "pruned": self._store.prune(datetime.fromisoformat(request["older_than"]))}
        raise ValueError(f"unknown store agent operation {op!r}")


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    agent: StoreAgent


class _Connection(socketserver.BaseRequestHandler):
    """One worker's connection: requests answered in turn until it closes."""

    def handle(self) -> None:
        agent = self.server.agent  # type: ignore[attr-defined]
        sock: socket.socket = self.request
        while True:
            try:
                request = receive(sock)
            except (WireError, OSError, ValueError):
                return
            try:
                answer = agent.answer(request)
            except Exception as exc:
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            try:
                send(sock, answer)
            except OSError:
                return


def serve(settings: DataPlaneSettings, socket_path: Path) -> None:
    """Run the agent for ``settings``' store on ``socket_path`` until SIGTERM/SIGINT."""
    store = StoreClient(settings.resolved_store_url)
    agent = StoreAgent(store, poll_interval_s=settings.poll_interval_s)
    agent.refresh()
    listener = ChangeListener(settings.resolved_store_url, agent.wake)
    listener.start()
    follower = threading.Thread(target=agent.follow, name="store-agent-follow", daemon=True)
    follower.start()
    socket_path.unlink(missing_ok=True)
    server = _Server(str(socket_path), _Connection)
    server.agent = agent
    signals = []

    def stop(signum: int, frame: object) -> None:
        # A SIGTERM to the data plane's whole process group reaches the agent at once, while its workers
        # still finish their requests and remove their rows through it: the first signal waits for the
        # supervisor to go (or for a second signal, which the supervisor sends once the workers are
        # done), at most _DRAIN_S.
        signals.append(signum)
        if len(signals) == 1:
            threading.Thread(target=_stop_after_parent, args=(server,), daemon=True).start()
        else:
            threading.Thread(target=server.shutdown, daemon=True).start()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    logger.info("store agent for the workers on %s (one connection set for this host)", socket_path)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        agent.stop()
        listener.stop()
        server.server_close()
        socket_path.unlink(missing_ok=True)
        store.close()


def _stop_after_parent(server: socketserver.BaseServer) -> None:
    parent = os.getppid()
    deadline = time.monotonic() + _DRAIN_S
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.1)
    server.shutdown()


def main() -> None:
    configure_json_logging()  # the data plane's other processes write JSON lines too
    path = os.environ.get(STORE_AGENT_SOCKET_ENV)
    if not path:
        sys.exit(f"{STORE_AGENT_SOCKET_ENV} is not set")
    serve(DataPlaneSettings(), Path(path))


if __name__ == "__main__":
    main()
