"""Small builders for HAProxy configuration lines, so the renderers read as the configuration does."""

from __future__ import annotations

import json

__all__ = ["json_body", "json_return", "lf", "line", "ms"]


def line(*parts: str) -> str:
    """One indented directive: its words joined by spaces (empty parts left out)."""
    return "    " + " ".join(part for part in parts if part)


def ms(seconds: float) -> str:
    """A duration in whole milliseconds, as HAProxy's time arguments take it."""
    return f"{max(1, round(seconds * 1000))}ms"


def lf(text: str) -> str:
    """A log-format argument: double-quoted with its quotes and backslashes escaped (``%[...]`` kept)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def json_body(fields: dict[str, object]) -> str:
    """A JSON object whose string values may hold ``%[...]`` samples (they must not hold quotes)."""
    return "{" + ",".join(f"{json.dumps(key)}:{json.dumps(value)}" for key, value in fields.items()) + "}"


def json_return(
    status: int, fields: dict[str, object], condition: str, *, close: bool = False, retry_after: str = ""
) -> str:
    """``http-request return`` of a JSON error document, with the request id, under ``condition``;
    ``retry_after`` (a log-format expression) adds a ``Retry-After`` header."""
    headers = 'hdr x-request-id "%[var(txn.rid)]" hdr cache-control no-store'
    if retry_after:
        headers += f' hdr retry-after "{retry_after}"'
    if close:
        headers += " hdr connection close"
    return line(
        f"http-request return status {status} content-type application/json",
        headers,
        "lf-string",
        lf(json_body(fields)),
        condition,
    )
