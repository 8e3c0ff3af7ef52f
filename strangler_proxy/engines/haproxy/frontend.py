"""The front door's frontend: from a client's request to the backend of the side that answers it.

path checks (the data plane's refusals)        -> txn.path, the decoded path the rules match on
first matching rule, in table order             -> txn.route ("-" when none)
its action from the map                         -> txn.mode, txn.up, limits
a valid signed tester override                  -> txn.forced (legacy | new)
canary: bucket cookie, else session, else new   -> txn.side
the client's x-strangler-*, address headers out; X-Forwarded-*, X-Request-Id, traceparent in
the signed identity (Lua hook -> Python sidecar), for the new side
backend: fb_<up> (GET/HEAD that fall back), up_<up>, else up_legacy
"""

from __future__ import annotations

from strangler_proxy.engines.haproxy.conditions import path_acls, quoted, rule_condition
from strangler_proxy.engines.haproxy.directives import json_return, lf, line
from strangler_proxy.engines.haproxy.layout import EngineLayout
from strangler_proxy.engines.haproxy.table_map import DEFAULT_ACTION, VERSION_KEY
from strangler_proxy.override import OVERRIDE_COOKIE, OVERRIDE_HEADER
from strangler_proxy.routes import LEGACY, RouteTable
from strangler_proxy.routes.canary import (
    BUCKET_COOKIE,
    BUCKET_COOKIE_MAX_AGE_S,
    BUCKET_KEY_PATTERN,
    SESSION_KEY_PREFIX,
)

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
_NOT_ROUTED = "!{ var(txn.route) -m found }"
_FREE_CANARY = "is_canary !forced"


def _set(var: str, expression: str, condition: str = "") -> str:
    return line(f"http-request set-var(txn.{var})", expression, condition)


def _path_checks() -> list[str]:
    """The data plane's refusals: a path the two sides could read differently gets 400."""
    refuse = "http-request set-var(txn.bad_path)"
    return [
        _set(
            "rid",
            "req.fhdr(x-request-id,1)",
            f"if {{ req.fhdr(x-request-id,1) -m reg {quoted(_REQUEST_ID)} }}",
        ),
        _set("rid", "uuid(4),regsub(-,,g)", "unless { var(txn.rid) -m found }"),
        _set("host", "req.hdr(host)"),
        line(
            refuse, 'str("backslashes are refused")', 'if { path -m sub "\\x5c" } || { path -m sub -i %5c }'
        ),
        line("http-request set-path %[path,regsub(/+,/,g)] if { path -m sub // }"),
        _set("path", "path,url_dec"),
        line(
            refuse,
            'str("control characters are refused")',
            f"if {{ path -m reg -i {quoted('%(0[0-9a-f]|1[0-9a-f]|7f)')} }}",
        ),
        line(
            refuse,
            'str("dot segments are refused")',
            f"if {{ var(txn.path) -m reg {quoted('(^|/)[.][.]?(/|$)')} }}",
        ),
        line(
            refuse,
            'str("encoded slashes making an empty segment are refused")',
            "if { var(txn.path) -m sub // }",
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
    lines = [line(acl) for index, rule in enumerate(table.rules) for acl in path_acls(index, rule)]
    for index, rule in enumerate(table.rules):
        lines.append(_set("route", f"str({rule.name})", f"if {_NOT_ROUTED} {rule_condition(index, rule)}"))
    too_large = {
        "error": "request_too_large",
        "status": 413,
        "detail": "the request body exceeds the route's limit of %[var(txn.max_body)] bytes",
        "request_id": "%[var(txn.rid)]",
    }
    return [
        *lines,
        _set("route", "str(-)", "unless { var(txn.route) -m found }"),
        _set("act", f"var(txn.route),map({layout.map_path},{DEFAULT_ACTION})"),
        _set("mode", "var(txn.act),field(1,|)"),
        _set("read_ms", "var(txn.act),field(5,|)"),
        _set("max_body", "var(txn.act),field(6,|)"),
        json_return(
            413, too_large, "if { req.hdr_val(content-length),sub(txn.max_body) -m int gt 0 }", close=True
        ),
        line("acl has_new var(txn.mode) -m str new canary"),
        _set("up", "var(txn.act),field(2,|)", "if has_new"),
    ]


def _override() -> list[str]:
    """A signed tester override (header first, else cookie) forces its side on rules with a new upstream:
    the HMAC compared in constant time with one made with the override key, then the expiry."""
    header = f"req.fhdr({OVERRIDE_HEADER},1)"
    claim_side, claim_left = "var(txn.oclaim),field(1,|)", "var(txn.oclaim),field(2,|),sub(txn.now)"
    return [
        _set("otok", header, f"if has_new {{ {header} -m found }}"),
        _set("otok", f"req.cook({OVERRIDE_COOKIE})", f"if has_new !{{ {header} -m found }}"),
        line("acl otok_ok var(txn.otok) -m len 1:256"),
        _set("osig", "var(txn.otok),field(2,.)", "if otok_ok"),
        _set("omac", "var(txn.otok),field(1,.),hmac(sha256,proc.override_key),ub64enc", "if otok_ok"),
        _set(
            "oclaim",
            "var(txn.otok),field(1,.),ub64dec",
            "if otok_ok { var(txn.omac),secure_memcmp(txn.osig) }",
        ),
        _set("now", "date"),
        _set("oleft", claim_left, "if { var(txn.oclaim) -m found }"),
        _set(
            "forced", claim_side, f"if {{ var(txn.oleft) -m int gt 0 }} {{ {claim_side} -m str legacy new }}"
        ),
        line("acl forced var(txn.forced) -m found"),
    ]


def _side(layout: EngineLayout) -> list[str]:
    """The side: mode new unless forced; forced; canary by bucket (see strangler_proxy.routes.canary)."""
    cookie, session = f"req.cook({BUCKET_COOKIE})", f"req.cook({layout.session_cookie})"
    no_key = "!{ var(txn.bkey) -m found }"
    session_key = f"str({SESSION_KEY_PREFIX}),concat(,txn.bsid,),sha2(256),bytes(0,12),ub64enc"
    bucket = "var(txn.bkey),sha2(256),bytes(0,6),hex,hex2i,mod(10000),sub(txn.thr)"
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
        _set("side", "str(new)", f"if {_FREE_CANARY} {{ var(txn.bdiff) -m int lt 0 }}"),
        line("http-response add-header set-cookie", lf(set_cookie), "if { var(txn.bnew) -m bool }"),
        _set("upname", "var(txn.up)", "if { var(txn.side) -m str new }"),
        _set("upname", f"str({LEGACY})", "unless { var(txn.side) -m str new }"),
    ]


def _forwarded_headers() -> list[str]:
    trace = "req.fhdr(traceparent,1)"
    valid_trace = (
        f"{{ {trace} -m reg {quoted(_TRACEPARENT)} }} !{{ {trace} -m reg {quoted(_INVALID_TRACEPARENT)} }}"
    )
    started = "00-%[uuid(4),regsub(-,,g)]-%[uuid(4),regsub(-,,g),bytes(0,16)]-01"
    return [
        *(line("http-request del-header", name) for name in _CLIENT_ADDRESS_HEADERS),
        line("http-request del-header ^x[-_]strangler[-_] -m reg"),
        line("http-request del-header ^(x[-_]real[-_]ip|x[-_]forwarded[-_].*|true[-_]client[-_]ip)$ -m reg"),
        line("http-request set-header x-forwarded-for %[src]"),
        line("http-request set-header x-forwarded-proto http"),
        line("http-request set-header x-forwarded-host %[req.hdr(host)] if { req.hdr(host) -m found }"),
        line("http-request set-header x-request-id %[var(txn.rid)]"),
        _set("trace", trace, f"if {valid_trace}"),
        line("http-request set-header traceparent", started, "unless { var(txn.trace) -m found }"),
        line("http-request set-header traceparent %[var(txn.trace)] if { var(txn.trace) -m found }"),
    ]


def _identity(layout: EngineLayout) -> list[str]:
    """The signed identity of a request sent to a new upstream, from the Python sidecar through the Lua
    hook (after the client's own ``x-strangler-*`` headers were dropped); 502 when it cannot be had."""
    if layout.identity is None:
        return []
    session = f"req.cook({layout.identity.session_cookie})"
    failed = {
        "error": "upstream_unreachable",
        "status": 502,
        "detail": "cannot resolve the session with the legacy",
        "upstream": LEGACY,
        "request_id": "%[var(txn.rid)]",
    }
    return [
        _set("sid", session, f"if {{ var(txn.side) -m str new }} {{ {session} -m len gt 0 }}"),
        line("http-request lua.strangler_identity if { var(txn.sid) -m found }"),
        json_return(502, failed, "if { var(txn.identity_failed) -m found }"),
    ]


def _responses(layout: EngineLayout) -> list[str]:
    lines = [
        line("http-response set-var(txn.served) var(txn.side)"),
        line(f"http-response set-var(txn.served) str({LEGACY}) if {{ srv_name {LEGACY} }}"),
    ]
    if layout.debug_headers:
        lines += [
            line("http-response set-header x-strangler-route %[var(txn.route)]"),
            line("http-response set-header x-strangler-target %[var(txn.served)]"),
            line("http-response set-header x-strangler-upstream %[var(txn.upname)]"),
            line(f"http-response set-header x-strangler-upstream {LEGACY} if {{ srv_name {LEGACY} }}"),
            line(
                f"http-response set-header x-strangler-version %[str({VERSION_KEY}),map({layout.map_path},0)]"
            ),
        ]
    return lines


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
        *_override(),
        *_side(layout),
        *_forwarded_headers(),
        *_identity(layout),
        *_responses(layout),
        *_backend_choice(),
    ]
