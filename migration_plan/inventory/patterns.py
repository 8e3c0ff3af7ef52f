"""Django URL patterns turned into sample paths, and the route model's match semantics over them.

``/products/<int:pk>/`` becomes ``/products/1/``; ``/api(?:/(?P<path>.*))?`` becomes ``/api``. A rule
claims a pattern when its match takes the sample path (exact, prefix by whole segments, or a regular
expression over the whole path), for a method the pattern serves.
"""

from __future__ import annotations

import re

from strangler_proxy.routes import MatchKind, RuleMatch

__all__ = ["ANY_METHOD", "match_accepts", "sample_path"]

ANY_METHOD = "*"
_CONVERTER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>")
_SAMPLES = {"int": "1", "slug": "sample", "uuid": "00000000-0000-0000-0000-000000000001", "path": "x/y"}
_OPTIONAL_GROUP = re.compile(r"\(\?:[^()]*(?:\([^()]*\)[^()]*)*\)\?")
_NAMED_GROUP = re.compile(r"\(\?P<\w+>[^()]*\)")


def sample_path(pattern: str) -> str:
    """A concrete path the pattern resolves (converters filled in, optional regex groups left out)."""
    path = _OPTIONAL_GROUP.sub("", pattern)
    path = _NAMED_GROUP.sub("x", path)
    path = _CONVERTER.sub(lambda m: _SAMPLES.get(m.group("kind") or "str", "x1"), path)
    path = path.replace("^", "").replace("$", "").replace("\\", "")
    return path if path.startswith("/") else "/" + path


def _prefix_takes(prefix: str, path: str) -> bool:
    base = prefix.rstrip("/")
    return base == "" or path == base or path.startswith(base + "/")


def match_accepts(match: RuleMatch, path: str, method: str) -> bool:
    """Whether ``match`` takes ``method path`` (header and cookie predicates are not considered)."""
    if method != ANY_METHOD and match.methods is not None and method not in match.methods:
        return False
    if match.kind is MatchKind.EXACT:
        return path == match.path
    if match.kind is MatchKind.PREFIX:
        return _prefix_takes(match.path, path)
    return re.fullmatch(match.path, path) is not None
