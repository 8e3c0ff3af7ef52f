"""A tiny health endpoint for a sync worker: ``/healthz`` (alive) and ``/readyz`` (last loop recent)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Heartbeat", "serve_health"]


class Heartbeat:
    """The worker calls ``beat()`` after every successful loop; ready while the last beat is recent."""

    def __init__(self, max_age: float = 10.0) -> None:
        self.max_age = max_age
        self._last = 0.0

    def beat(self) -> None:
        self._last = time.monotonic()

    @property
    def ready(self) -> bool:
        return time.monotonic() - self._last <= self.max_age


def serve_health(port: int, heartbeat: Heartbeat) -> ThreadingHTTPServer:
    """Serve on 127.0.0.1:``port`` from a daemon thread; ``server.shutdown()`` stops it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._answer(200, {"status": "ok"})
            elif self.path == "/readyz":
                if heartbeat.ready:
                    self._answer(200, {"status": "ready", "checks": {"loop": "ok"}})
                else:
                    self._answer(503, {"status": "unavailable", "checks": {"loop": "no recent loop"}})
            else:
                self._answer(404, {"error": {"code": "not_found", "message": "Unknown path."}})

        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Health probes are not worth a log line each."""

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
