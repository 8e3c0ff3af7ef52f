"""Parsing what callers send, with bounds checked before anything is built from it.

    bounded_int("42", "version", low=1)   -> 42; BadRequest (400) for "x", "-1" or 10**40
    load_json(raw)                        -> the document; BadRequest for bad JSON or nesting past 32

Ids and versions are stored as 32-bit integers, so a larger number cannot name anything: it is refused
as a bad request instead of failing in the database. JSON nesting is measured by a lexical scan before
``json.loads`` runs, so a document nested 100,000 deep costs one pass over its bytes, not a recursion.
"""

from __future__ import annotations

import json
import re
from typing import Any

from strangler_proxy.controlplane.errors import BadRequest

__all__ = ["MAX_ID", "MAX_JSON_DEPTH", "bounded_int", "load_json"]

MAX_ID = 2**31 - 1
MAX_JSON_DEPTH = 32
_STRINGS_AND_BRACKETS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")


def bounded_int(raw: object, name: str, *, low: int = 0, high: int = MAX_ID) -> int:
    """``raw`` as a whole number between ``low`` and ``high``; BadRequest (400) saying why otherwise."""
    text = str(raw).strip() if raw is not None else ""
    if not re.fullmatch(r"[+-]?[0-9]{1,12}", text):
        raise BadRequest(f"{name} must be a whole number between {low} and {high}")
    number = int(text)
    if not low <= number <= high:
        raise BadRequest(f"{name} must be a whole number between {low} and {high}, not {number}")
    return number


def load_json(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON document in ``raw`` (``{}`` when empty); BadRequest when it is not JSON or nests deeper
    than ``max_depth`` arrays and objects."""
    if not raw.strip():
        return {}
    depth = 0
    for match in _STRINGS_AND_BRACKETS.finditer(raw):
        first = match.group()[0]
        if first in _OPEN:
            depth += 1
            if depth > max_depth:
                raise BadRequest(f"the JSON body nests deeper than {max_depth} arrays and objects")
        elif first in _CLOSE:
            depth -= 1
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
