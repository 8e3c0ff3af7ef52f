"""Compare the legacy's response with the new upstream's: status, chosen headers, normalised body.

Bodies are compared by the legacy's media type: JSON parsed (key order ignored, ``ignore_json_paths``
removed), HTML after whitespace normalisation, anything else byte for byte. A body of ``None`` was too
large to keep and is left out of the comparison. The diff is a human-readable text, truncated.
"""

from __future__ import annotations

import difflib
import functools
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from strangler_proxy.dataplane.shadow.normalise import (
    charset,
    decoded_body,
    drop_json_paths,
    header_value,
    html_lines,
    is_html,
    is_json,
    json_lines,
    media_type,
)
from strangler_proxy.routes.model import ShadowSettings
from strangler_proxy.routes.validation import NEVER_COMPARED_HEADERS

__all__ = ["MAX_DIFF_CHARS", "MAX_DIFF_LINES", "Comparison", "ResponseSnapshot", "compare_responses"]

MAX_DIFF_LINES = 80
MAX_DIFF_CHARS = 8_000


class ResponseSnapshot(NamedTuple):
    """One side's answer (a named tuple: one made per mirror, in one call)."""

    status: int
    headers: Sequence[tuple[bytes, bytes]]
    body: bytes | None
    """None when it was too large to keep."""


@dataclass(frozen=True, slots=True)
class Comparison:
    equal: bool
    diff: str
    """Empty when equal."""


_EQUAL = Comparison(equal=True, diff="")


@functools.lru_cache(maxsize=256)
def _compared_names(compare_headers: tuple[str, ...]) -> frozenset[bytes]:
    """The header names (lower-case bytes) that take part: the chosen ones and content-encoding, never
    one that carries credentials (a table from before the validation refused them)."""
    chosen = (name.lower() for name in compare_headers if name.lower() not in NEVER_COMPARED_HEADERS)
    return frozenset([b"content-encoding", *(name.encode("latin-1") for name in chosen)])


def _picked(headers: Sequence[tuple[bytes, bytes]], names: frozenset[bytes]) -> list[tuple[bytes, bytes]]:
    return [(lower, value) for key, value in headers if (lower := key.lower()) in names]


def compare_responses(
    settings: ShadowSettings, legacy: ResponseSnapshot, new: ResponseSnapshot
) -> Comparison:
    names = _compared_names(settings.compare_headers)
    if (
        legacy.status == new.status
        and (legacy.body == new.body or legacy.body is None or new.body is None)
        and _picked(legacy.headers, names) == _picked(new.headers, names)
    ):
        return _EQUAL  # the same bytes where it matters: they normalise the same (the common case)
    problems: list[str] = []
    if legacy.status != new.status:
        problems.append(f"status: legacy {legacy.status}, new {new.status}")
    for name in settings.compare_headers:
        if name.lower() in NEVER_COMPARED_HEADERS:
            continue
        legacy_value, new_value = header_value(legacy.headers, name), header_value(new.headers, name)
        if legacy_value != new_value:
            problems.append(f"header {name.lower()}: legacy {legacy_value!r}, new {new_value!r}")
    if legacy.body is not None and new.body is not None:
        problems += _body_problems(settings, legacy, new)
    return Comparison(equal=not problems, diff=_truncate("\n".join(problems)))


def _body_problems(settings: ShadowSettings, legacy: ResponseSnapshot, new: ResponseSnapshot) -> list[str]:
    try:
        legacy_body = decoded_body(legacy.body or b"", legacy.headers)
    except zlib.error as exc:
        return [f"body: the legacy body could not be decoded ({exc}); not compared"]
    try:
        new_body = decoded_body(new.body or b"", new.headers)
    except zlib.error as exc:
        return [f"body: the new body could not be decoded ({exc})"]
    if legacy_body == new_body:
        return []
    media = media_type(legacy.headers)
    if is_json(media):
        return _json_problems(settings, legacy_body, new_body)
    if is_html(media):
        legacy_lines = html_lines(legacy_body.decode(charset(legacy.headers), "replace"))
        new_lines = html_lines(new_body.decode(charset(new.headers), "replace"))
        return (
            []
            if legacy_lines == new_lines
            else [_unified("body (HTML, whitespace normalised)", legacy_lines, new_lines)]
        )
    return [_bytes_problem(legacy_body, new_body)]


def _json_problems(settings: ShadowSettings, legacy_body: bytes, new_body: bytes) -> list[str]:
    try:
        legacy_doc = json.loads(legacy_body)
    except ValueError:
        return [_bytes_problem(legacy_body, new_body)]
    try:
        new_doc = json.loads(new_body)
    except ValueError as exc:
        return [f"body: the legacy sent JSON, the new body is not JSON ({exc})"]
    legacy_doc = drop_json_paths(legacy_doc, settings.ignore_json_paths)
    new_doc = drop_json_paths(new_doc, settings.ignore_json_paths)
    if legacy_doc == new_doc:
        return []
    return [_unified("body (JSON, keys sorted)", json_lines(legacy_doc), json_lines(new_doc))]


def _bytes_problem(legacy_body: bytes, new_body: bytes) -> str:
    try:
        legacy_text, new_text = legacy_body.decode("utf-8"), new_body.decode("utf-8")
    except UnicodeDecodeError:
        return f"body: bytes differ (legacy {len(legacy_body)} bytes, new {len(new_body)} bytes)"
    return _unified("body", legacy_text.splitlines(), new_text.splitlines())


def _unified(title: str, legacy_lines: list[str], new_lines: list[str]) -> str:
    lines = list(difflib.unified_diff(legacy_lines, new_lines, "legacy", "new", lineterm="", n=2))
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... ({len(lines) - MAX_DIFF_LINES} more diff lines)"]
    return f"{title}:\n" + "\n".join(lines)


def _truncate(text: str) -> str:
    if len(text) <= MAX_DIFF_CHARS:
        return text
    return text[:MAX_DIFF_CHARS] + f"\n... (truncated, {len(text)} characters in all)"
