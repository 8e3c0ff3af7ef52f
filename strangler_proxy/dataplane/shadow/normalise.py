"""Normal forms that make two responses comparable: decoded bodies, JSON without volatile fields,
HTML without insignificant whitespace, header values without cosmetic differences."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "charset",
    "decoded_body",
    "drop_json_paths",
    "header_value",
    "html_lines",
    "is_html",
    "is_json",
    "json_lines",
    "media_type",
]

RawHeaders = Sequence[tuple[bytes, bytes]]

_SPACES = re.compile(r"\s+")
_BETWEEN_TAGS = re.compile(r">\s+<")
_CHARSET = re.compile(r"charset=\"?([A-Za-z0-9._-]+)", re.IGNORECASE)


def _values(headers: RawHeaders, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in headers if key.lower() == name]


def header_value(headers: RawHeaders, name: str) -> str | None:
    """All values of ``name`` joined by ', ', whitespace collapsed; content-type also lower-cased with
    its parameters sorted and unquoted (and JSON's redundant ``charset=utf-8`` dropped). None when absent."""
    values = _values(headers, name.lower().encode("latin-1"))
    if not values:
        return None
    if name.lower() == "content-type":
        return ", ".join(_content_type(v) for v in values)
    return ", ".join(_SPACES.sub(" ", v.strip()) for v in values)


def _content_type(value: str) -> str:
    kind, *params = (part.strip().lower() for part in value.split(";"))
    cleaned = sorted(p.replace(" ", "").replace('"', "") for p in params if p)
    if is_json(kind):  # JSON is UTF-8 by definition (RFC 8259): an explicit charset=utf-8 says nothing
        cleaned = [p for p in cleaned if p not in ("charset=utf-8", "charset=utf8")]
    return "; ".join([kind, *cleaned])


def media_type(headers: RawHeaders) -> str:
    values = _values(headers, b"content-type")
    return values[0].split(";", 1)[0].strip().lower() if values else ""


def is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def is_html(media: str) -> bool:
    return media in ("text/html", "application/xhtml+xml")


def charset(headers: RawHeaders) -> str:
    values = _values(headers, b"content-type")
    found = _CHARSET.search(values[0]) if values else None
    return found.group(1) if found else "utf-8"


def decoded_body(body: bytes, headers: RawHeaders) -> bytes:
    """``body`` with gzip/deflate content-encoding undone (so two encodings of one text compare equal).

    Raises ``zlib.error`` when the body does not decode as its header says.
    """
    encodings = [e.strip().lower() for v in _values(headers, b"content-encoding") for e in v.split(",")]
    for encoding in reversed([e for e in encodings if e and e != "identity"]):
        if encoding in ("gzip", "x-gzip"):
            body = zlib.decompress(body, wbits=16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            try:
                body = zlib.decompress(body)
            except zlib.error:
                body = zlib.decompress(body, wbits=-zlib.MAX_WBITS)
        else:
            raise zlib.error(f"content-encoding {encoding!r} cannot be decoded for comparison")
    return body


def drop_json_paths(document: Any, paths: Iterable[str]) -> Any:
    """Remove the fields at dotted ``paths`` from ``document`` (mutated and returned).

    A part is a key, a list index, or ``*`` for every key/element: ``generated_at``,
    ``items.*.updated_at``, ``meta.*``. Paths that lead nowhere are ignored.
    """
    for path in paths:
        parts = [p for p in path.split(".") if p]
        if parts:
            document = _drop(document, parts)
    return document


def _drop(node: Any, parts: list[str]) -> Any:
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else [head] if head in node else []
        for key in keys:
            if rest:
                node[key] = _drop(node[key], rest)
            else:
                del node[key]
    elif isinstance(node, list):
        if head == "*":
            indices = list(range(len(node)))
        elif head.isdigit() and int(head) < len(node):
            indices = [int(head)]
        else:
            indices = []
        if rest:
            for index in indices:
                node[index] = _drop(node[index], rest)
        else:
            for index in reversed(indices):
                del node[index]
    return node


def json_lines(document: Any) -> list[str]:
    """A canonical text of ``document`` (sorted keys, indented), split in lines for a diff."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False).splitlines()


def html_lines(text: str) -> list[str]:
    """HTML with whitespace normalised: runs collapsed to one space, none between tags; one tag a line."""
    text = _BETWEEN_TAGS.sub("><", _SPACES.sub(" ", text).strip())
    return text.replace("><", ">\n<").splitlines()
