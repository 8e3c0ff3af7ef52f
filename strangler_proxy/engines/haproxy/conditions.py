"""A rule's match as HAProxy ACLs: path (exact, prefix by whole segments, pattern), methods, headers,
cookies, evaluated on the percent-decoded path the data plane matches on (``txn.path``).

Every value a user wrote (paths, patterns, header and cookie names and values) reaches the
configuration through :func:`quoted`, which leaves HAProxy nothing to interpret: no environment
variable, comment, quote or escape of the user's own.
"""

from __future__ import annotations

import re

from strangler_proxy.routes import MatchKind, Predicate, Rule

__all__ = ["path_acls", "quoted", "rule_condition"]

_PLAIN = re.compile(r"[A-Za-z0-9._/:@=+-]")
_END = r"\z"
"""PCRE's end of the subject (``$`` would also match before a final newline)."""


def quoted(text: str) -> str:
    """``text`` as one double-quoted HAProxy argument; every other character as a ``\\xNN`` escape
    (UTF-8 bytes for non-ASCII), so HAProxy reads back exactly ``text``."""
    out = []
    for char in text:
        if _PLAIN.fullmatch(char):
            out.append(char)
        else:
            out.extend(f"\\x{byte:02x}" for byte in char.encode("utf-8"))
    return '"' + "".join(out) + '"'


def acl_name(index: int) -> str:
    return f"r{index}_path"


def path_acls(index: int, rule: Rule) -> list[str]:
    """The named ACL lines for rule ``index``'s path (several lines with one name are OR-ed); none when
    the rule matches every path (the prefix ``/``)."""
    match = rule.match
    name = acl_name(index)
    if match.kind is MatchKind.EXACT:
        return [f"acl {name} var(txn.path) -m str {quoted(match.path)}"]
    if match.kind is MatchKind.PATTERN:
        # Python's fullmatch: the whole decoded path, up to its very end (\z, not $).
        whole = "^(?:" + match.path + ")" + _END
        return [f"acl {name} var(txn.path) -m reg {quoted(whole)}"]
    base = match.path.rstrip("/")
    if not base:
        return []
    return [
        f"acl {name} var(txn.path) -m str {quoted(base)}",
        f"acl {name} var(txn.path) -m beg {quoted(base + '/')}",
    ]


def _header(predicate: Predicate) -> str:
    fetch = f"req.fhdr({predicate.name.lower()})"
    if predicate.equals is None:
        return f"{{ {fetch} -m found }}"
    return f"{{ {fetch} -m str {quoted(predicate.equals)} }}"


def _cookie(predicate: Predicate) -> str:
    fetch = f"req.cook({predicate.name})"
    if predicate.equals is None:
        return f"{{ {fetch} -m found }}"
    return f"{{ {fetch} -m str {quoted(predicate.equals)} }}"


def rule_condition(index: int, rule: Rule) -> str:
    """The condition (ANDed terms) under which rule ``index`` matches, given :func:`path_acls`."""
    match = rule.match
    terms = []
    if path_acls(index, rule):
        terms.append(acl_name(index))
    if match.methods is not None:
        terms.append("{ method " + " ".join(sorted(match.methods)) + " }")
    terms += [_header(p) for p in match.headers]
    terms += [_cookie(p) for p in match.cookies]
    return " ".join(terms)
