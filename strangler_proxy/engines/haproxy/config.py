"""The HAProxy configuration for one route table: the table's structure; actions come from a map.

    global, defaults    master-worker, runtime API socket, log to the agent, timeouts, JSON errors
    frontend front      see ``frontend.py``: from a request to the backend of its side
    backend up_<name>   one per upstream, health-checked: marked down after the breaker's failures
    backend fb_<name>   a new upstream with the legacy behind it, for GET/HEAD of routes that fall
                        back: a failed connection or a 5xx answer is tried once more on the legacy
    frontend status     loopback only: /_strangler/version, /_strangler/readyz, /metrics (Prometheus)

Two tables with the same structure render the same text: then only the map changes (no reload).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

from strangler_proxy.engines.haproxy.conditions import quoted
from strangler_proxy.engines.haproxy.directives import json_body, lf, line, ms
from strangler_proxy.engines.haproxy.frontend import render_frontend
from strangler_proxy.engines.haproxy.layout import EngineLayout
from strangler_proxy.engines.haproxy.matching import match_maps
from strangler_proxy.engines.haproxy.table_map import GENERATION_KEY, READY_KEY, VERSION_KEY, render_map
from strangler_proxy.routes import LEGACY, RouteTable, Upstream

__all__ = ["Structure", "render_config", "render_structure"]

_RING = "strangler-requests"
_ERRORS = {
    400: ("bad_request", "the request cannot be forwarded as sent"),
    408: ("request_timeout", "the request was not complete in time"),
    502: ("upstream_error", "the upstream failed: no connection, or a broken or invalid answer"),
    503: ("upstream_unavailable", "no server of the upstream is up (it failed its checks or answers)"),
    504: ("upstream_timeout", "the upstream did not answer in time"),
}


def _global(layout: EngineLayout) -> list[str]:
    key = base64.b64encode(layout.override_key).decode("ascii")
    lines = [
        "global",
        line("master-worker"),
        line(f"nbthread {layout.threads}"),
        line(f"stats socket {layout.admin_socket} mode 600 level admin expose-fd listeners"),
        line(f"log ring@{_RING} local0 info"),
        line(f"hard-stop-after {ms(layout.stop_grace_s)}"),
        line(f"tune.bufsize {layout.bufsize}"),
        line(f'set-var proc.override_key str("{key}")'),
    ]
    if layout.override_previous is not None and layout.override_previous_until is not None:
        previous = base64.b64encode(layout.override_previous).decode("ascii")
        lines += [
            line(f'set-var proc.override_prev str("{previous}")'),
            line(f"set-var proc.override_prev_until int({int(layout.override_previous_until)})"),
        ]
    if layout.identity is not None:
        cache_key = base64.b64encode(layout.identity.cache_key).decode("ascii")
        lines.append(line(f'set-var proc.identity_cache_key str("{cache_key}")'))
        lines.append(line(f"lua-load {layout.lua_path}"))
    return lines


def _ring(layout: EngineLayout) -> list[str]:
    """The request lines, kept in a ring buffer and forwarded to the agent over one TCP connection."""
    return [
        f"ring {_RING}",
        line("format raw"),
        line("maxlen 2048"),
        line("size 4194304"),
        line("timeout connect 2s"),
        line("timeout server 30s"),
        line(f"server agent {layout.log_address}"),
    ]


def _defaults(layout: EngineLayout) -> list[str]:
    errors = [
        line(
            f"http-error status {status} content-type application/json",
            'hdr x-request-id "%[var(txn.rid)]" hdr cache-control no-store lf-string',
            lf(
                json_body(
                    {
                        "error": code,
                        "status": status,
                        "detail": detail,
                        "upstream": "%[var(txn.up)]",
                        "request_id": "%[var(txn.rid)]",
                    }
                )
            ),
        )
        for status, (code, detail) in _ERRORS.items()
    ]
    return [
        "defaults",
        line("mode http"),
        line("log global"),
        line("option idle-close-on-response"),
        line(f"timeout http-request {ms(layout.header_timeout_s)}"),
        line(f"timeout http-keep-alive {ms(layout.keep_alive_timeout_s)}"),
        line(f"timeout client {ms(layout.client_timeout_s)}"),
        line("timeout connect 2s"),
        line("timeout server 30s"),
        line("timeout tunnel 1h"),
        line("http-reuse safe"),
        *errors,
    ]


def _server_address(upstream: Upstream) -> str:
    """``host:port`` and the TLS options of an upstream URL."""
    parts = urlsplit(upstream.url)
    https = parts.scheme == "https"
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if https else 80)
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"{where} ssl verify required ca-file @system-ca sni str({host})" if https else where


def _origin_rewrite(upstream: Upstream) -> str:
    """A Location naming the upstream's own origin is rewritten to the origin the user reached."""
    pattern = quoted("^" + re.escape(upstream.url.rstrip("/")) + "([/?#].*)?$")
    return line("http-response replace-header location", pattern, '"http://%[var(txn.host)]\\1"')


def _connect_timeouts(table: RouteTable) -> dict[str, float]:
    """Per upstream, the longest connect timeout of the rules sending to it (HAProxy sets it per backend)."""
    timeouts = {name: 2.0 for name in table.upstreams}
    for rule in table.rules:
        name = rule.action.upstream
        if name in timeouts:
            timeouts[name] = max(timeouts[name], rule.timeouts.connect_s)
    return timeouts


def _backends(table: RouteTable, kept: Mapping[str, Upstream]) -> list[str]:
    lines: list[str] = []
    legacy = table.upstreams[LEGACY]
    connect = _connect_timeouts(table)
    read_timeout = line("http-request set-timeout server var(txn.read_ms) if { var(txn.read_ms) -m found }")
    upstreams = {**kept, **table.upstreams}
    for name, upstream in sorted(upstreams.items()):
        connect.setdefault(name, 2.0)
        breaker = upstream.breaker
        # The breaker: down after failure_threshold failed answers in a row (observed on real traffic),
        # tried again every open_s while down; while up, three failed connection checks also take it down.
        health = (
            f"check inter 2s downinter {ms(breaker.open_s)} fall 3 rise 1 "
            f"observe layer7 error-limit {breaker.failure_threshold} on-error mark-down"
        )
        lines += [
            f"backend up_{name}",
            line(f"timeout connect {ms(connect[name])}"),
            read_timeout,
            _origin_rewrite(upstream),
            line(f"server s {_server_address(upstream)}", health),
        ]
        if name == LEGACY:
            continue
        lines += [
            f"backend fb_{name}",
            line("balance first"),
            line("option redispatch 1"),
            line("retries 1"),
            line("retry-on conn-failure empty-response response-timeout 500 501 502 503 504"),
            line(f"timeout connect {ms(connect[name])}"),
            read_timeout,
            _origin_rewrite(upstream),
            _origin_rewrite(legacy),
            line(f"server new {_server_address(upstream)} track up_{name}/s"),
            line(f"server {LEGACY} {_server_address(legacy)}"),
        ]
    return lines


def _status(layout: EngineLayout) -> list[str]:
    def entry(key: str) -> str:
        return f"%[str({key}),map({layout.map_path},0)]"

    version = (
        f'{{"engine":"haproxy","version":{entry(VERSION_KEY)},"generation":{entry(GENERATION_KEY)},'
        f'"ready":{entry(READY_KEY)},"worker_pid":%pid}}'
    )
    ready = f"{{ str({READY_KEY}),map({layout.map_path},0) -m str 1 }}"
    json = "content-type application/json"
    starting = '{"status":"starting","checks":{"route_table":"not yet from the store"}}'
    return [
        "frontend status",
        line(f"bind 127.0.0.1:{layout.status_port}"),
        line("no log"),
        line("http-request use-service prometheus-exporter if { path /metrics }"),
        line(
            f"http-request return status 200 {json} lf-string", lf(version), "if { path /_strangler/version }"
        ),
        line(
            f"http-request return status 200 {json} string",
            lf('{"status":"ok"}'),
            "if { path /_strangler/healthz }",
        ),
        line(
            f"http-request return status 200 {json} string",
            lf('{"status":"ready"}'),
            f"if {{ path /_strangler/readyz }} {ready}",
        ),
        line(f"http-request return status 503 {json} string", lf(starting), "if { path /_strangler/readyz }"),
        line(f"http-request return status 404 {json} string", lf('{"error":"not_found"}')),
    ]


def render_config(table: RouteTable, layout: EngineLayout, kept: Mapping[str, Upstream] | None = None) -> str:
    """The configuration text for ``table``'s structure; equal texts need no reload.

    ``kept``: upstreams the engine already has a backend for. Their backends stay (idle) when the table
    no longer names them, so a route flipped back to the legacy and then to new again changes only
    the map; a table's own upstream of the same name wins (a moved address renders a new text).
    """
    sections = [
        _global(layout),
        _ring(layout),
        _defaults(layout),
        render_frontend(table, layout),
        _backends(table, kept or {}),
        _status(layout),
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


class Structure(NamedTuple):
    """What only a reload applies: the configuration and the maps the rules are matched with."""

    config: str
    exact_map: str
    prefix_map: str


def render_structure(
    table: RouteTable, layout: EngineLayout, kept: Mapping[str, Upstream] | None = None
) -> Structure:
    exact, prefix = match_maps(table)
    return Structure(render_config(table, layout, kept), render_map(exact), render_map(prefix))
