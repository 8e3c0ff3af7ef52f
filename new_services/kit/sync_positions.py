"""Read-your-writes across the seam, for every service: the events an answer committed are named in
``X-Strangler-Sync-Events`` (the data plane makes the client's next read on the monolith wait for
them), and ``GET /_strangler/sync/arrived?event=<id>&...`` says which of the monolith's events this
service's forward consumer has taken (the data plane asks before it sends a client who just wrote on
the monolith to this service).

The arrival endpoint reads the sync database's inbox (``STRANGLER_SYNC_DATABASE_URL``, by default the
sync workers' own SQLite file in the home) for the consumer ``<SERVICE>_SYNC_CONSUMER`` (default: the
service's name). It answers only whether event ids its caller already knows have arrived. The kit
knows no sync code: the service passes how to read the inbox and how to collect a request's events
(``acl.sync.core.positions.arrived`` and ``collecting``).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import structlog
from flask import Blueprint, Flask, Response, request
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from new_services.kit.engine import make_engine
from new_services.kit.responses import error_response, json_response
from new_services.kit.settings import ServiceSettings

__all__ = ["install_sync_positions"]

SYNC_EVENTS_HEADER = "X-Strangler-Sync-Events"
MAX_EVENTS = 16
"""Events named per answer (the newest) and asked about per call."""
_COLLECTOR = "strangler_sync_events"

Arrived = Callable[[Engine, str, Sequence[str]], set[str]]
"""(sync database, consumer, event ids) -> the ids that consumer has taken."""
Collecting = Callable[[], AbstractContextManager[list[str]]]
"""A context manager collecting the ids of the events written inside it into the list it yields."""


def _event_ids(values: Sequence[str]) -> list[str]:
    if not values or len(values) > MAX_EVENTS:
        raise ValueError(f"Name 1 to {MAX_EVENTS} event ids as ?event=<uuid>.")
    try:
        return [str(uuid.UUID(value)) for value in values]
    except ValueError:
        raise ValueError("An event id is not a UUID.") from None


class _SyncInbox:
    """The sync database, opened on first use (a SQLite file the sync workers have not created yet
    means nothing has arrived)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def engine(self) -> Engine | None:
        with self._lock:
            if self._engine is None:
                parsed = make_url(self._url)
                if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
                    return None
                self._engine = make_engine(self._url)
            return self._engine


def install_sync_positions(
    app: Flask, settings: ServiceSettings, *, arrived: Arrived, collecting: Collecting
) -> None:
    """The arrival endpoint, and the header naming what each answer committed."""
    inbox = _SyncInbox(settings.sync_database_url)
    consumer = settings.sync_consumer or settings.service
    log = structlog.get_logger(f"{settings.service}.sync_positions")
    blueprint = Blueprint("sync_positions", __name__)

    @blueprint.get("/_strangler/sync/arrived")
    def sync_arrived() -> Response:
        try:
            ids = _event_ids(request.args.getlist("event"))
        except ValueError as exc:
            return error_response(400, "invalid_parameter", str(exc), field="event")
        engine = inbox.engine()
        try:
            found = set() if engine is None else arrived(engine, consumer, ids)
        except SQLAlchemyError as exc:
            log.warning("sync inbox unreadable", error=exc.__class__.__name__)
            return error_response(503, "sync_unavailable", "The sync database cannot be read.")
        return json_response({"arrived": sorted(found)})

    app.register_blueprint(blueprint)

    @app.before_request
    def _collect() -> None:
        collector = collecting()
        request.environ[_COLLECTOR + ".events"] = collector.__enter__()
        request.environ[_COLLECTOR] = collector

    @app.after_request
    def _name_events(response: Response) -> Response:
        events = request.environ.get(_COLLECTOR + ".events")
        if events and response.status_code < 400:
            response.headers[SYNC_EVENTS_HEADER] = ",".join(events[-MAX_EVENTS:])
        return response

    @app.teardown_request
    def _stop_collecting(_: BaseException | None) -> None:
        collector = request.environ.pop(_COLLECTOR, None)
        if collector is not None:
            collector.__exit__(None, None, None)
