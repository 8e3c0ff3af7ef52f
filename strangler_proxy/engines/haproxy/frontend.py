"""The front door's frontend: from a client's request to the backend of the side that answers it.

path checks (the data plane's refusals)        -> txn.path, the decoded path the rules match on
first matching rule, in table order             -> txn.route ("-" when none)
its action from the map                         -> txn.mode, txn.up, limits
a write fence in force (a handover)             -> 503 + Retry-After for unsafe methods
a valid signed tester override                  -> txn.forced (legacy | new)
canary: bucket cookie, else session, else new   -> txn.side (reads only: writes stay on the legacy)
the client's x-strangler-*, address headers out; X-Forwarded-*, X-Request-Id, traceparent in
the signed identity (Lua hook -> Python sidecar), for the new side
backend: fb_<up> (GET/HEAD that fall back), up_<up>, else up_legacy
"""

from __future__ import annotations

from strangler_proxy.engines.haproxy.conditions import quoted
from strangler_proxy.engines.haproxy.directives import json_return, lf, line
from strangler_proxy.engines.haproxy.layout import EngineLayout
from strangler_proxy.engines.haproxy.matching import matching_lines
from strangler_proxy.engines.haproxy.table_map import DEFAULT_ACTION, VERSION_KEY
from strangler_proxy.override import OVERRIDE_COOKIE, OVERRIDE_HEADER
from strangler_proxy.routes import LEGACY, RouteTable
from strangler_proxy.routes.canary import (
    BUCKET_COOKIE,
    BUCKET_COOKIE_MAX_AGE_S,
    BUCKET_KEY_PATTERN,
    SESSION_KEY_PREFIX,
)
from strangler_proxy.routes.ownership import SAFE_METHODS

__all__ = ["LOG_FORMAT", "render_frontend"]

LOG_FORMAT = "%[var(txn.route)] %[var(txn.side)] %b %s %ST %Ta %rc %tsc"
"""One line per request to the agent (see ``request_log.py``): route, side chosen, backend, server,
status, total time (ms), retries, termination state."""

_REQUEST_ID = r"^[A-Za-z0-9._:@/+=-]{8,128}$"
_TRACEPARENT = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
_INVALID_TRACEPARENT = r"^ff-|^..-0{32}-|^.{36}-0{16}-"
_CLIENT_ADDRESS_HEADERS = (
    "x-real-ip",
    "true-client-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "cf-connecting-ip",
    "x-original-forwarded-for",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
)
_DROPPED_PREFIXES = ("x-strangler-", "x_strangler_", "x_forwarded_", "x_real_ip", "true_client_ip")
"""The client's own x-strangler-* headers, and underscore aliases of the forwarded ones (which CGI-style
servers read as the same variable)."""
_UNUSUAL_PATH = r"//|%|\\|/[.]"
_FREE_CANARY = "is_canary !forced"


def _set(var: str, expression: str, condition: str = "") -> str:
    return line(f"http-request set-var(txn.{var})", expression, condition)


def _path_checks() -> list[str]:
    """The data plane's refusals: a path the two sides could read differently gets 400. Most paths
    need none of it: the checks run only when the raw path holds ``//``, ``%``, a backslash or ``/.``."""
    refuse = "http-request set-var(txn.bad_path)"
    unusual = f"{{ path -m reg {quoted(_UNUSUAL_PATH)} }}"
    bad_raw = quoted(r"\\|%5[cC]|%[01][0-9a-fA-F]|%7[fF]")
    bad_decoded = quoted(r"(^|/)[.][.]?(/|$)|//")
    return [
        _set(
            "rid",
            "req.fhdr(x-request-id,1)",
            f"if {{ req.fhdr(x-request-id,1) -m reg {quoted(_REQUEST_ID)} }}",
        ),
        _set("rid", "uuid(4)", "unless { var(txn.rid) -m found }"),
        _set("host", "req.hdr(host)"),
        _set("path", "path"),
        line("acl unusual_path var(txn.unusual) -m bool"),
        _set("unusual", "bool(1)", f"if {unusual}"),
        line(
            refuse,
            'str("backslashes and control characters are refused also when percent-encoded")',
            f"if unusual_path {{ path -m reg {bad_raw} }}",
        ),
        line("http-request set-path %[path,regsub(/+,/,g)] if unusual_path { path -m sub // }"),
        _set("path", "path,url_dec", "if unusual_path"),
        line(
            refuse,
            'str("dot segments and encoded slashes making an empty segment are refused")',
            f"if unusual_path {{ var(txn.path) -m reg {bad_decoded} }}",
        ),
        json_return(
            400,
            {
                "error": "bad_path",
                "status": 400,
                "detail": "%[var(txn.bad_path)]",
                "request_id": "%[var(txn.rid)]",
            },
            "if { var(txn.bad_path) -m found }",
        ),
    ]


def _rules(table: RouteTable, layout: EngineLayout) -> list[str]:
    too_large = {
        "error": "request_too_large",
        "status": 413,
        "detail": "the request body exceeds the route's limit of %[var(txn.max_body)] bytes",
        "request_id": "%[var(txn.rid)]",
    }
    length = "req.hdr_val(content-length)"
    return [
        *matching_lines(table, layout),
        _set("act", f"var(txn.route),map({layout.map_path},{DEFAULT_ACTION})"),
        _set("mode", "var(txn.act),field(1,|)"),
        _set("read_ms", "var(txn.act),field(5,|)"),
        _set("max_body", "var(txn.act),field(6,|)", f"if {{ {length} -m found }}"),
        json_return(
            413,
            too_large,
            f"if {{ var(txn.max_body) -m found }} {{ {length},sub(txn.max_body) -m int gt 0 }}",
            close=True,
        ),
        line("acl has_new var(txn.mode) -m str new canary"),
        _set("up", "var(txn.act),field(2,|)", "if has_new"),
    ]


def _write_fence() -> list[str]:
    """A handover's write fence, as the data plane serves it: until the fence's end (map field 7, epoch
    seconds) the route's unsafe methods get 503 with ``Retry-After`` (field 8); reads pass."""
    fenced_until = "var(txn.act),field(7,|)"
    paused = {
        "error": "writes_fenced",
        "status": 503,
        "detail": (
            "writes on route '%[var(txn.route)]' are paused while they move to the other side; "
            "retry in %[var(txn.act),field(8,|)] s (reads are served)"
        ),
        "upstream": None,
        "request_id": "%[var(txn.rid)]",
    }
    return [
        _set("fnow", "date", f"if {{ {fenced_until} -m int gt 0 }}"),
        _set("fleft", f"{fenced_until},sub(txn.fnow)", "if { var(txn.fnow) -m found }"),
        json_return(
            503,
            paused,
            f"if {{ var(txn.fleft) -m int gt 0 }} !{{ method {' '.join(sorted(SAFE_METHODS))} }}",
            retry_after="%[var(txn.act),field(8,|)]",
        ),
    ]


def _override(*, previous: bool = False) -> list[str]:
    """A signed tester override (header first, else cookie) forces its side on rules with a new upstream:
    the HMAC compared in constant time with one made with the override key, then the expiry. During a
    key rotation (``previous``) a token made with the previous key counts too, until the overlap window's
    end (``proc.override_prev_until``, compared with the clock per request, so no reload ends it)."""
    header = f"req.fhdr({OVERRIDE_HEADER},1)"
    claim_side, claim_left = "var(txn.oclaim),field(1,|)", "var(txn.oclaim),field(2,|),sub(txn.now)"
    return [
        # the header when present (even empty: then no override), else the cookie
        _set("otok", header, "if has_new"),
        _set(
            "otok",
            f"req.cook({OVERRIDE_COOKIE})",
            "if has_new !{ var(txn.otok) -m found } { req.hdr(cookie) -m found }",
        ),
        line("acl otok_ok var(txn.otok) -m len 1:256"),
        _set("osig", "var(txn.otok),field(2,.)", "if otok_ok"),
        _set("omac", "var(txn.otok),field(1,.),hmac(sha256,proc.override_key),ub64enc", "if otok_ok"),
        _set(
            "oclaim",
            "var(txn.otok),field(1,.),ub64dec",
            "if otok_ok { var(txn.omac),secure_memcmp(txn.osig) }",
        ),
        *(_previous_override() if previous else []),
        _set("now", "date", "if { var(txn.oclaim) -m found }"),
        _set("oleft", claim_left, "if { var(txn.oclaim) -m found }"),
        _set(
            "forced", claim_side, f"if {{ var(txn.oleft) -m int gt 0 }} {{ {claim_side} -m str legacy new }}"
        ),
        line("acl forced var(txn.forced) -m found"),
    ]


def _previous_override() -> list[str]:
    """A token the current key did not sign, checked against the previous key while its window lasts."""
    unclaimed = "otok_ok !{ var(txn.oclaim) -m found }"
    return [
        _set("pnow", "date", f"if {unclaimed}"),
        _set("pleft", "var(proc.override_prev_until),sub(txn.pnow)", f"if {unclaimed}"),
        _set(
            "pmac",
            "var(txn.otok),field(1,.),hmac(sha256,proc.override_prev),ub64enc",
            f"if {unclaimed} {{ var(txn.pleft) -m int gt 0 }}",
        ),
        _set(
            "oclaim",
            "var(txn.otok),field(1,.),ub64dec",
            f"if {unclaimed} {{ var(txn.pmac),secure_memcmp(txn.osig) }}",
        ),
    ]


def _side(layout: EngineLayout) -> list[str]:
    """The side: mode new unless forced; forced; canary by bucket (see strangler_proxy.routes.canary)
    for a read, the legacy for any other method (the canary's write owner, see
    strangler_proxy.routes.ownership: the weight splits reads only)."""
    cookie, session = f"req.cook({BUCKET_COOKIE})", f"req.cook({layout.session_cookie})"
    no_key = "!{ var(txn.bkey) -m found }"
    session_key = f"str({SESSION_KEY_PREFIX}),concat(,txn.bsid,),sha2(256),bytes(0,12),ub64enc"
    bucket = "var(txn.bkey),sha2(256),bytes(0,6),hex,hex2i,mod(10000),sub(txn.thr)"
    safe = "{ method " + " ".join(sorted(SAFE_METHODS)) + " }"
    set_cookie = (
        f"{BUCKET_COOKIE}=%[var(txn.bkey)]; Path=/; Max-Age={BUCKET_COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Lax"
    )
    return [
        _set("side", "str(legacy)"),
        _set("side", "str(new)", "if { var(txn.mode) -m str new } !forced"),
        _set("side", "var(txn.forced)", "if forced"),
        line("acl is_canary var(txn.mode) -m str canary"),
        _set(
            "bkey",
            cookie,
            f"if {_FREE_CANARY} {{ {cookie} -m reg {quoted('^' + BUCKET_KEY_PATTERN + '$')} }}",
        ),
        _set("bnew", "bool(1)", f"if {_FREE_CANARY} {no_key}"),
        _set("bsid", session, f"if {_FREE_CANARY} {no_key} {{ {session} -m len gt 0 }}"),
        _set("bkey", session_key, "if { var(txn.bsid) -m found }"),
        _set("bkey", "uuid(4)", f"if {_FREE_CANARY} {no_key}"),
        _set("thr", "var(txn.act),field(3,|)", f"if {_FREE_CANARY}"),
        _set("bdiff", bucket, f"if {_FREE_CANARY}"),
        _set("side", "str(new)", f"if {_FREE_CANARY} {{ var(txn.bdiff) -m int lt 0 }} {safe}"),
        line("http-response add-header set-cookie", lf(set_cookie), "if { var(txn.bnew) -m bool }"),
        _set("up", f"str({LEGACY})", "unless { var(txn.side) -m str new }"),
    ]


def _forwarded_headers() -> list[str]:
    trace = "req.fhdr(traceparent,1)"
    valid_trace = (
        f"{{ {trace} -m reg {quoted(_TRACEPARENT)} }} !{{ {trace} -m reg {quoted(_INVALID_TRACEPARENT)} }}"
    )
    return [
        *(line("http-request del-header", name) for name in _CLIENT_ADDRESS_HEADERS),
        *(line("http-request del-header", prefix, "-m beg") for prefix in _DROPPED_PREFIXES),
        line("http-request set-header x-forwarded-for %[src]"),
        line("http-request set-header x-forwarded-proto http"),
        line("http-request set-header x-forwarded-host %[var(txn.host)] if { var(txn.host) -m found }"),
        line("http-request set-header x-request-id %[var(txn.rid)]"),
        _set("trace", trace, f"if {{ {trace} -m found }} {valid_trace}"),
        _set("tid", "uuid(4),regsub(-,,g)", "unless { var(txn.trace) -m found }"),
        line(
            "http-request set-header traceparent 00-%[var(txn.tid)]-%[var(txn.tid),bytes(16,16)]-01",
            "unless { var(txn.trace) -m found }",
        ),
    ]


def _identity(layout: EngineLayout) -> list[str]:
    """The signed identity of a request sent to a new upstream, from the Python sidecar through the Lua
    hook (after the client's own ``x-strangler-*`` headers were dropped); 502 when it cannot be had.
    The credential, as the data plane picks it: an ``Authorization`` of a listed scheme first (the
    monolith's API views prefer it), else the session cookie; the Lua hook caches under its HMAC
    (``txn.ckey``)."""
    if layout.identity is None:
        return []
    session = f"req.cook({layout.identity.session_cookie})"
    prefixes = " ".join(f"{scheme}\\x20" for scheme in layout.identity.auth_schemes)
    listed = f"{{ req.fhdr(authorization) -m beg -i {prefixes} }}"
    new = "{ var(txn.side) -m str new }"
    cache_key = "hmac(sha256,proc.identity_cache_key),ub64enc"
    failed = {
        "error": "upstream_unreachable",
        "status": 502,
        "detail": "cannot resolve the session with the legacy",
        "upstream": LEGACY,
        "request_id": "%[var(txn.rid)]",
    }
    return [
        _set("cred", "req.fhdr(authorization)", f"if {new} {listed}"),
        _set("sid", session, f"if {new} !{{ var(txn.cred) -m found }} {{ {session} -m len gt 0 }}"),
        _set("ckey", f"var(txn.cred),{cache_key}", "if { var(txn.cred) -m found }"),
        _set("ckey", f"var(txn.sid),{cache_key}", "if { var(txn.sid) -m found }"),
        line("http-request lua.strangler_identity if { var(txn.ckey) -m found }"),
        json_return(502, failed, "if { var(txn.identity_failed) -m found }"),
    ]


def _responses(layout: EngineLayout) -> list[str]:
    if not layout.debug_headers:
        return []
    fell_back = f"{{ srv_name {LEGACY} }}"
    return [
        line("http-response set-header x-strangler-route %[var(txn.route)]"),
        line("http-response set-header x-strangler-target %[var(txn.side)]", f"unless {fell_back}"),
        line(f"http-response set-header x-strangler-target {LEGACY} if {fell_back}"),
        line("http-response set-header x-strangler-upstream %[var(txn.up)]", f"unless {fell_back}"),
        line(f"http-response set-header x-strangler-upstream {LEGACY} if {fell_back}"),
        line(f"http-response set-header x-strangler-version %[str({VERSION_KEY}),map({layout.map_path},0)]"),
    ]


def _backend_choice() -> list[str]:
    falls_back = "{ method GET HEAD } { var(txn.act),field(4,|) -m str 1 }"
    return [
        line("use_backend fb_%[var(txn.up)] if { var(txn.side) -m str new }", falls_back),
        line("use_backend up_%[var(txn.up)] if { var(txn.side) -m str new }"),
        line(f"default_backend up_{LEGACY}"),
    ]


def render_frontend(table: RouteTable, layout: EngineLayout) -> list[str]:
    return [
        "frontend front",
        line(f"bind {layout.front_host}:{layout.front_port}"),
        line("log-format", lf(LOG_FORMAT)),
        *_path_checks(),
        *_rules(table, layout),
        *_write_fence(),
        *_override(previous=layout.override_previous is not None),
        *_side(layout),
        *_forwarded_headers(),
        *_identity(layout),
        *_responses(layout),
        *_backend_choice(),
    ]
