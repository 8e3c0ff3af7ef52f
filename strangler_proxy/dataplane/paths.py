"""Path normalisation before route matching, so a rule cannot be bypassed by spelling a path differently.

Django and Flask both route on the percent-decoded path (their WSGI servers decode ``%2F`` too),
case-sensitively, without resolving dot segments. The proxy matches on that same decoded path and
forwards the raw one, so both agree; it also:

- refuses (400) what the two sides could read differently: dot segments (``/./``, ``/../``, also
  percent-encoded or behind an encoded slash), an empty segment made of encoded slashes
  (``/a%2F%2Fb``), a backslash (raw or ``%5c``), control characters and NUL (raw or encoded), and a
  path not starting with ``/``;
- merges repeated slashes (``/api//things`` -> ``/api/things``) and forwards the merged path, so
  the side a rule chose acts on exactly the path the rule matched;
- keeps case and a trailing slash as sent (both frameworks are case-sensitive; prefix rules match by
  whole segments, so ``/api/things/`` falls under a ``/api/things`` rule).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["PathRefused", "normalise_path"]

_NEEDS_WORK = re.compile(rb"//|%|\\|/\.|[\x00-\x1f\x7f]")
_ENCODED_BACKSLASH = re.compile(rb"%5[cC]")
_SLASHES = re.compile(rb"/{2,}")


class PathRefused(ValueError):
    """The path is ambiguous between the proxy and the upstreams; answer 400."""


def normalise_path(raw_path: bytes) -> tuple[str, bytes]:
    """The decoded path to match and the raw path to forward, or :class:`PathRefused`."""
    if not raw_path.startswith(b"/"):
        raise PathRefused("the request path must start with '/'")
    if _NEEDS_WORK.search(raw_path) is None:
        return raw_path.decode("latin-1"), raw_path
    if b"\\" in raw_path or _ENCODED_BACKSLASH.search(raw_path):
        raise PathRefused("'\\' in the path is refused")
    raw = _SLASHES.sub(b"/", raw_path)
    path = unquote(raw.decode("latin-1"))
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in path):
        raise PathRefused("control characters in the path are refused")
    if "//" in path:
        raise PathRefused("encoded slashes making an empty path segment are refused")
    segments = path.split("/")
    if any(segment in (".", "..") for segment in segments):
        raise PathRefused("dot segments ('.', '..') in the path are refused")
    return path, raw
