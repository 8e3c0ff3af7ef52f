"""JSON log lines for a monolith that installs the toolkit's Django app, with the trace id.

    LOGGING = {..., "formatters": {"json": {"()": "strangler_django.logging.JsonFormatter"}}, ...}

in the monolith's settings, and for gunicorn's own loggers (its access lines most of all: the one line
every request writes), in its ``gunicorn.conf.py``::

    def on_starting(server):
        use_json_lines(server.log)

A line has the keys of the toolkit's other processes: ``timestamp`` (ISO 8601, UTC), ``level``,
``logger``, ``event`` (the message), ``trace_id``, ``exception`` when one is logged. The trace id is the
active span's when OpenTelemetry traces the monolith (:mod:`strangler_django.tracing`); a gunicorn access
line, written once the request's span has ended, takes it from the request's ``traceparent`` header
(the data plane sends one with every request, traced or not), so ``grep TRACE_ID`` finds the monolith's
line of a request whatever its sampling. Nothing else of the request (no other header) is written.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from strangler_django.tracing import current_trace_id

__all__ = ["JsonFormatter", "use_json_lines"]

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_GUNICORN_TRACEPARENT = "{traceparent}i"  # the access line's atom of the request's traceparent header


def _request_trace_id(record: logging.LogRecord) -> str:
    """The trace id of a gunicorn access record's request (its ``traceparent``), else ""."""
    atoms = record.args
    if not isinstance(atoms, dict):
        return ""
    match = _TRACEPARENT.match(str(atoms.get(_GUNICORN_TRACEPARENT, "")).strip().lower())
    return match.group(1) if match and match.group(1) != "0" * 32 else ""


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the trace id of the request it belongs to."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        trace_id = current_trace_id() or _request_trace_id(record)
        if trace_id:
            line["trace_id"] = trace_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def use_json_lines(gunicorn_logger: Any) -> None:
    """Give every handler of gunicorn's error and access logs the JSON formatter (call it from the
    ``on_starting`` hook of ``gunicorn.conf.py``: the workers fork from the master and keep it)."""
    formatter = JsonFormatter()
    for log in (gunicorn_logger.error_log, gunicorn_logger.access_log):
        for handler in log.handlers:
            handler.setFormatter(formatter)
