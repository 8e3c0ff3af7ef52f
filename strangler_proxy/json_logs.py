"""JSON log lines for the toolkit's own processes (control plane, data plane, shadow process, sync
workers), with the trace id.

    configure_json_logging()     the root logger writes one JSON object per line to stderr
    json_log_config()            the same as a ``logging.config.dictConfig`` dict (uvicorn's
                                 ``log_config``: its error and access loggers write through it too)

A line has the keys of the services' lines (structlog's): ``timestamp`` (ISO 8601, UTC), ``level``,
``logger``, ``event`` (the message), ``trace_id`` when the line is written inside a traced span, or
names the request it is about (``logger.warning(..., extra={"trace_id": ...})``: the data plane makes
its spans by hand, so no span is current while it serves a request), so ``grep TRACE_ID
.strangler/logs/*`` finds it, and ``exception`` when an exception is logged. Nothing happens at import.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from strangler_proxy.telemetry import current_trace_id

__all__ = ["JsonLineFormatter", "configure_json_logging", "json_log_config"]


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record, with the active span's trace id."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        trace_id = getattr(record, "trace_id", None) or current_trace_id()
        if trace_id:
            line["trace_id"] = trace_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def json_log_config(level: str = "INFO") -> dict[str, Any]:
    """A dictConfig dict: the root logger (and uvicorn's, through it) writes JSON lines to stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonLineFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            name: {"handlers": [], "level": level, "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure_json_logging(level: str = "INFO") -> None:
    """Replace the root logger's handlers with one writing JSON lines to stderr."""
    logging.config.dictConfig(json_log_config(level))
