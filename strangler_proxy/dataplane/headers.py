"""Header rewriting in one pass over the raw ASGI list, for requests going up and responses coming back.

Requests: hop-by-hop headers (RFC 9110 section 7.6.1, plus every header ``Connection`` names),
client-supplied ``x-strangler-*`` headers, client-address headers (``x-real-ip`` and kin) and underscore
aliases of any of these (``X_Forwarded_For``) are dropped; ``x-forwarded-*`` are replaced by the proxy's own
unless the peer is a trusted proxy (then the client address is appended to its list); ``x-request-id`` is
kept when well formed, else generated; ``traceparent`` is propagated when valid, else started.
Responses: hop-by-hop headers are dropped and a ``Location`` pointing at the upstream's own origin is
rewritten to the origin the client used. Everything else passes unchanged and in order.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from random import getrandbits as _bits

__all__ = [
    "ForwardedRequest",
    "TrustedPeers",
    "filter_response_headers",
    "new_request_id",
    "prepare_request_headers",
    "response_head",
]

RawHeaders = Sequence[tuple[bytes, bytes]]

_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"proxy-connection",
        b"keep-alive",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
    }
)
_DROP, _CONNECTION, _FORWARDED, _REQUEST_ID, _TRACEPARENT, _HOST, _ACCEPT, _LENGTH, _CHUNKED = range(9)
_REQUEST_ACTIONS: dict[bytes, int] = {name: _DROP for name in _HOP_BY_HOP}
_REQUEST_ACTIONS.update(
    {
        b"connection": _CONNECTION,
        b"x-forwarded-for": _FORWARDED,
        b"x-forwarded-proto": _FORWARDED,
        b"x-forwarded-host": _FORWARDED,
        b"forwarded": _FORWARDED,
        b"x-request-id": _REQUEST_ID,
        b"traceparent": _TRACEPARENT,
        b"host": _HOST,
        b"accept": _ACCEPT,
        b"content-length": _LENGTH,
        b"expect": _DROP,
        b"transfer-encoding": _CHUNKED,
        # Client-address headers other proxies and frameworks trust: only X-Forwarded-For is ours.
        b"x-real-ip": _DROP,
        b"true-client-ip": _DROP,
        b"x-client-ip": _DROP,
        b"x-cluster-client-ip": _DROP,
        b"cf-connecting-ip": _DROP,
        b"x-original-forwarded-for": _DROP,
    }
)
_REQUEST_ID_RE = re.compile(rb"^[A-Za-z0-9._:@/+=-]{8,128}$")
_TRACEPARENT_RE = re.compile(rb"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_STRANGLER_PREFIX = b"x-strangler-"


def new_request_id() -> str:
    """128 random bits in hex; a fast generator (ids must be unique, not secret)."""
    return f"{_bits(128):032x}"


def _aliases_ours(name: bytes) -> bool:
    """``X_Forwarded_For`` and the like: CGI-style servers map ``_`` and ``-`` to the same variable."""
    alias = name.replace(b"_", b"-")
    return alias in _REQUEST_ACTIONS or alias.startswith(_STRANGLER_PREFIX)


def _valid_traceparent(value: bytes) -> bool:
    match = _TRACEPARENT_RE.match(value)
    if match is None:
        return False
    version, trace_id, parent_id, _flags = match.groups()
    return version != b"ff" and trace_id != b"0" * 32 and parent_id != b"0" * 16


class TrustedPeers:
    """Which peer addresses may pass their own X-Forwarded-* headers; answers are cached per address."""

    __slots__ = ("_cache", "_networks")

    def __init__(self, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> None:
        self._networks = tuple(networks)
        self._cache: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self._networks)

    def __contains__(self, host: str) -> bool:
        if not self._networks:
            return False
        known = self._cache.get(host)
        if known is None:
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                known = False
            else:
                known = any(address in network for network in self._networks)
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[host] = known
        return known


@dataclass(slots=True)
class ForwardedRequest:
    """What the forwarder needs from the client's headers, computed in the same pass."""

    headers: list[tuple[str, str]]
    request_id: str
    host: str
    accept: bytes
    content_length: int | None
    """None when the body is chunked or absent; -1 when the header is malformed."""
    chunked: bool
    """The client sent ``Transfer-Encoding`` (its body length is unknown until the end)."""
    public_scheme: str
    """The scheme the user reached the site by: a trusted proxy's X-Forwarded-Proto, else the proxy's."""
    public_host: str
    """The host the user reached the site by: a trusted proxy's X-Forwarded-Host, else Host."""
    not_utf8: str | None = None
    """The name of the first header whose value is not UTF-8 (the request is refused with 400: the
    upstream client writes header text as UTF-8, so such bytes could not pass unchanged)."""
    traceparent: str = ""
    """The traceparent sent upstream (the client's when valid, else started here): its trace id goes
    into the access log line."""

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)


def prepare_request_headers(
    raw: RawHeaders,
    *,
    client_host: str,
    scheme: str,
    trusted: TrustedPeers,
    default_host: str,
) -> ForwardedRequest:
    """Filter the client's headers for the upstream and add the proxy's own.

    Values become text by UTF-8, which the upstream client writes back as the same bytes (ASCII, and
    obs-text such as a UTF-8 cookie value, pass unchanged); a value that is not UTF-8 is named in
    ``not_utf8``."""
    # long: one pass over the client's headers on every request, its ten findings kept in locals: split
    # into helpers, the findings would travel as a tuple or an object per request (the hot path).
    out: list[tuple[str, str]] = []
    not_utf8: str | None = None
    connection_named: list[bytes] | None = None
    forwarded: list[tuple[bytes, bytes]] | None = None
    request_id: str | None = None
    traceparent = ""
    host = ""
    accept = b""
    content_length: int | None = None
    chunked = False
    actions = _REQUEST_ACTIONS
    for name, value in raw:
        action = actions.get(name)
        if action is None:
            if not name.startswith(_STRANGLER_PREFIX) and (b"_" not in name or not _aliases_ours(name)):
                try:
                    out.append((name.decode("latin-1"), value.decode("utf-8")))
                except UnicodeDecodeError:
                    not_utf8 = not_utf8 or name.decode("latin-1")
            continue
        if action == _ACCEPT:
            accept = value
            try:
                out.append(("accept", value.decode("utf-8")))
            except UnicodeDecodeError:
                not_utf8 = not_utf8 or "accept"
        elif action == _HOST:
            try:
                host = value.decode("utf-8")
            except UnicodeDecodeError:
                not_utf8 = not_utf8 or "host"
        elif action == _LENGTH:
            try:
                content_length = int(value)
            except ValueError:
                content_length = -1
            else:
                if content_length < 0:
                    content_length = -1
                else:
                    out.append(("content-length", value.decode("latin-1")))
        elif action == _CHUNKED:
            chunked = True
        elif action == _REQUEST_ID:
            if request_id is None and _REQUEST_ID_RE.match(value):
                request_id = value.decode("ascii")
        elif action == _TRACEPARENT:
            if not traceparent and _valid_traceparent(value):
                traceparent = value.decode("ascii")
                out.append(("traceparent", traceparent))
        elif action == _FORWARDED:
            if not value.isascii():
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError:
                    not_utf8 = not_utf8 or name.decode("latin-1")
                    continue
            if forwarded is None:
                forwarded = []
            forwarded.append((name, value))
        elif action == _CONNECTION:
            if connection_named is None:
                connection_named = []
            connection_named.extend(token.strip().lower() for token in value.split(b","))
        # _DROP: nothing passes
    if connection_named:
        dropped = {token.decode("latin-1") for token in connection_named if token}
        out = [(n, v) for n, v in out if n not in dropped]
    if request_id is None:
        request_id = new_request_id()
    if not traceparent:
        traceparent = f"00-{_bits(128) or 1:032x}-{_bits(64) or 1:016x}-01"
        out.append(("traceparent", traceparent))
    if not host:
        host = default_host
    out.append(("host", host))
    out.append(("x-request-id", request_id))
    public_scheme, public_host = scheme, host
    if forwarded is None:  # the common case: nothing to keep, whoever the peer is
        out.append(("x-forwarded-for", client_host))
        out.append(("x-forwarded-proto", scheme))
        out.append(("x-forwarded-host", host))
    else:
        public_scheme, public_host = _add_forwarded(
            out, forwarded if client_host in trusted else None, client_host, scheme, host
        )
    if chunked and content_length is not None:
        # RFC 9112 section 6.3: Transfer-Encoding overrides Content-Length; forwarding both smuggles.
        content_length = None
        out = [(n, v) for n, v in out if n != "content-length"]
    return ForwardedRequest(
        out,
        request_id,
        host,
        accept,
        content_length,
        chunked,
        public_scheme,
        public_host,
        not_utf8,
        traceparent,
    )


def _add_forwarded(
    out: list[tuple[str, str]],
    trusted_values: list[tuple[bytes, bytes]] | None,
    client_host: str,
    scheme: str,
    host: str,
) -> tuple[str, str]:
    """Add X-Forwarded-* (extending a trusted peer's); the public (scheme, host) they name."""
    chain = proto = forwarded_host = None
    for name, value in trusted_values or ():
        text = value.decode("utf-8")  # checked by prepare_request_headers
        if name == b"x-forwarded-for":
            chain = f"{chain}, {text}" if chain else text
        elif name == b"x-forwarded-proto" and proto is None:
            proto = text
        elif name == b"x-forwarded-host" and forwarded_host is None:
            forwarded_host = text
        elif name == b"forwarded":
            out.append(("forwarded", text))
    out.append(("x-forwarded-for", f"{chain}, {client_host}" if chain else client_host))
    out.append(("x-forwarded-proto", proto or scheme))
    out.append(("x-forwarded-host", forwarded_host or host))
    return _public_scheme(proto, scheme), _first(forwarded_host) or host


def _public_scheme(proto: str | None, scheme: str) -> str:
    """The first scheme a trusted proxy names ("https, http" from a chain), when it is a known one."""
    first = _first(proto).lower()
    return first if first in ("http", "https") else scheme


def _first(listed: str | None) -> str:
    return listed.split(",", 1)[0].strip() if listed else ""


def filter_response_headers(
    raw: RawHeaders, *, upstream_origin: bytes, public_origin: bytes
) -> list[tuple[bytes, bytes]]:
    """The upstream's response headers minus hop-by-hop ones, with its own-origin Location rewritten."""
    scheme, _, host = public_origin.decode("latin-1").partition("://")
    return response_head(raw, upstream_origin=upstream_origin, scheme=scheme, host=host)[0]


def response_head(
    raw: RawHeaders, *, upstream_origin: bytes, scheme: str, host: str
) -> tuple[list[tuple[bytes, bytes]], int | None, int]:
    """:func:`filter_response_headers` for the forwarder: the public origin (``scheme://host``) is
    built only when a Location needs it, and the Content-Length (None when absent) and the size of
    all the headers (names and values) come from the same pass."""
    out: list[tuple[bytes, bytes]] = []
    connection_named: set[bytes] | None = None
    length: int | None = None
    size = 0
    for name, value in raw:
        size += len(name) + len(value)
        lower = name.lower()
        if lower in _HOP_BY_HOP:
            if lower == b"connection":
                connection_named = {t.strip().lower() for t in value.split(b",")}
            continue
        if lower == b"content-length":
            length = int(value)
        elif lower == b"location" and value.startswith(upstream_origin):
            rest = value[len(upstream_origin) :]
            if not rest or rest[:1] in (b"/", b"?", b"#"):
                value = f"{scheme}://{host}".encode("latin-1") + rest
        out.append((lower, value))
    if connection_named:
        out = [(n, v) for n, v in out if n not in connection_named]
    return out, length, size
