"""The route table as Kubernetes Gateway API objects: ``HTTPRoute`` (gateway.networking.k8s.io/v1) and a
``Service`` stub per upstream.

    rule, prefix/exact/pattern   ->  an HTTPRoute rule: PathPrefix / Exact / RegularExpression matches,
                                     one per method, with the rule's headers (Exact, or a presence regex)
                                     and its cookie (a regex on the Cookie header)
    mode legacy | new            ->  backendRefs: the legacy's Service | the new upstream's
    mode canary, weight w        ->  backendRefs weighted 100 - w / w
    mode shadow                  ->  the legacy's Service, and a RequestMirror filter (sample percent)
                                     to the new upstream's
    unmatched requests           ->  a last rule, PathPrefix "/", to the legacy (the catch-all)
    every rule                   ->  a RequestHeaderModifier removing the proxy's own headers a client
                                     could forge (X-Strangler-Identity, -Override, -Shadow)

Up to 16 rules per ``HTTPRoute`` (the schema's limit), in table order. What the Gateway API cannot
express is refused (:class:`ExportRefused`: fault injection, two cookie conditions in one rule, a table
whose order the Gateway's precedence would not keep, see ``precedence.py``) or reported as a note
(:attr:`Export.notes`: canary weights apply per request, not per user, and to writes as well as reads
(the toolkit's front doors keep a canary's writes on the legacy); no fallback to the legacy; no
signed identity; tester overrides not honoured; timeouts left to the Gateway; a handover's write fence
not held).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from strangler_proxy.engines.gateway_api.precedence import order_problems
from strangler_proxy.routes import LEGACY, ActionMode, MatchKind, RouteTable, Rule, RuleMatch, Upstream

__all__ = ["Export", "ExportOptions", "ExportRefused", "export_table"]

GATEWAY_API = "gateway.networking.k8s.io/v1"
RULES_PER_ROUTE = 16
MANAGED_BY = {"app.kubernetes.io/managed-by": "strangler-fig"}
_FORGEABLE = ["x-strangler-identity", "x-strangler-override", "x-strangler-shadow"]
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_RULE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class ExportRefused(ValueError):
    """The table cannot be expressed faithfully; ``problems`` says why, rule by rule."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class ExportOptions:
    gateway: str = "strangler"
    """The Gateway (parentRef) the routes attach to."""
    gateway_namespace: str | None = None
    namespace: str = "default"
    hostnames: tuple[str, ...] = ()
    name_prefix: str = "strangler"


@dataclass
class Export:
    objects: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)


def service_name(upstream: str) -> str:
    """The Service of an upstream: its name when it is a DNS label, else a label made from it."""
    if _DNS_LABEL.match(upstream) and len(upstream) <= 63:
        return upstream
    cleaned = re.sub(r"[^a-z0-9-]+", "-", upstream).strip("-")
    return f"up-{cleaned}"[:63].rstrip("-")


def _port(upstream: Upstream) -> int:
    parts = urlsplit(upstream.url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def _backend(upstreams: dict[str, Upstream], name: str, weight: int | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": service_name(name), "port": _port(upstreams[name])}
    if weight is not None:
        ref["weight"] = weight
    return ref


def _path(rule: Rule) -> dict[str, str]:
    match = rule.match
    if match.kind is MatchKind.EXACT:
        return {"type": "Exact", "value": match.path}
    if match.kind is MatchKind.PATTERN:
        return {"type": "RegularExpression", "value": match.path}
    return {"type": "PathPrefix", "value": match.path.rstrip("/") or "/"}


def _headers(rule: Rule) -> list[dict[str, str]]:
    headers = [
        {"type": "Exact", "name": p.name, "value": p.equals}
        if p.equals is not None
        else {"type": "RegularExpression", "name": p.name, "value": ".*"}
        for p in rule.match.headers
    ]
    for cookie in rule.match.cookies:
        value = re.escape(cookie.equals) + "(;|$)" if cookie.equals is not None else ""
        headers.append(
            {
                "type": "RegularExpression",
                "name": "Cookie",
                "value": f"(^|;\\s*){re.escape(cookie.name)}={value}",
            }
        )
    return headers


def _matches(rule: Rule) -> list[dict[str, Any]]:
    base: dict[str, Any] = {"path": _path(rule)}
    headers = _headers(rule)
    if headers:
        base["headers"] = headers
    if rule.match.methods is None:
        return [base]
    return [{**base, "method": method} for method in sorted(rule.match.methods)]


def _strip_forgeable() -> dict[str, Any]:
    return {"type": "RequestHeaderModifier", "requestHeaderModifier": {"remove": list(_FORGEABLE)}}


def _route_rule(rule: Rule, upstreams: dict[str, Upstream]) -> dict[str, Any]:
    action = rule.action
    new = action.upstream or LEGACY  # validation gives every mode but legacy its new upstream
    filters = [_strip_forgeable()]
    if action.mode is ActionMode.NEW:
        backends = [_backend(upstreams, new)]
    elif action.mode is ActionMode.CANARY:
        backends = [_backend(upstreams, LEGACY, 100 - action.weight), _backend(upstreams, new, action.weight)]
    else:
        backends = [_backend(upstreams, LEGACY)]
    if action.mode is ActionMode.SHADOW:
        mirror: dict[str, Any] = {"backendRef": _backend(upstreams, new)}
        percent = action.shadow.sample_percent
        if percent < 100 and percent == int(percent):
            mirror["percent"] = int(percent)
        elif percent < 100:
            mirror["fraction"] = {"numerator": round(percent * 100), "denominator": 10_000}
        filters.append({"type": "RequestMirror", "requestMirror": mirror})
    out: dict[str, Any] = {"matches": _matches(rule), "filters": filters, "backendRefs": backends}
    name = rule.name.replace("_", "-")
    if _RULE_NAME.match(name):
        out["name"] = name
    return out


def _outcome(rule: Rule) -> tuple[Any, ...]:
    action = rule.action
    if action.mode is ActionMode.LEGACY:
        return (ActionMode.LEGACY,)
    return (action.mode, action.upstream, action.weight, action.shadow.sample_percent)


def _refusals(table: RouteTable) -> list[str]:
    problems = []
    for rule in table.rules:
        where = f"rule {rule.name!r}"
        if rule.fault is not None:
            problems.append(f"{where}: fault injection (drills) has no Gateway API equivalent")
        if len(rule.match.cookies) > 1:
            problems.append(f"{where}: two cookie conditions cannot share the one Cookie header match")
        if rule.match.cookies and any(p.name.lower() == "cookie" for p in rule.match.headers):
            problems.append(
                f"{where}: a Cookie header condition and a cookie condition cannot both be matched"
            )
        names = [p.name.lower() for p in rule.match.headers]
        if len(set(names)) < len(names):
            problems.append(
                f"{where}: two conditions on one header cannot be expressed in one Gateway API match"
            )
        if len(_matches(rule)) > 64:
            problems.append(f"{where}: more than 64 matches (methods) in one HTTPRoute rule")
    services: dict[str, str] = {}
    for name in table.upstreams:
        other = services.setdefault(service_name(name), name)
        if other != name:
            problems.append(f"upstreams {other!r} and {name!r} would both be Service {service_name(name)!r}")
    return problems


def _notes(table: RouteTable) -> list[str]:
    modes = {rule.action.mode for rule in table.rules}
    notes = [
        "a GET whose new upstream fails is not retried on the legacy (no fallback in the Gateway API)",
        "new services get no signed X-Strangler-Identity (the Gateway cannot resolve and sign sessions)",
        "signed tester overrides are not honoured (the Gateway cannot verify them); the header is removed",
        "timeouts and circuit breaking are left to the Gateway implementation",
    ]
    if ActionMode.CANARY in modes:
        notes.insert(0, "canary weights apply per request, not per user: a user is not kept on one side")
        notes.insert(
            1,
            "canary weights split writes too: both sides take a canary route's writes (the toolkit's"
            " front doors send them all to the legacy, the one writer until the route is new)",
        )
    if ActionMode.SHADOW in modes:
        notes.append("shadow rules mirror requests but nothing compares the answers")
    patterns = [rule.name for rule in table.rules if rule.match.kind is MatchKind.PATTERN]
    if patterns:
        notes.append(
            f"regular-expression rules ({', '.join(patterns)}) are matched by the implementation's engine "
            "(often RE2), and whether one wins over the legacy catch-all (PathPrefix /) is the "
            "implementation's choice: check that yours ranks regular expressions before prefixes"
        )
    notes.append("paths are matched as sent (percent-encoded), where the data plane matches them decoded")
    fenced = [rule.name for rule in table.rules if rule.fence is not None]
    if fenced:
        notes.append(
            f"writes on {', '.join(fenced)} are fenced by a handover in progress, which the Gateway cannot "
            "hold: they reach the route's current side until the next export (the handover still waits "
            "for the sync before it switches)"
        )
    return notes


def export_table(table: RouteTable, options: ExportOptions = ExportOptions()) -> Export:
    """The HTTPRoutes and Service stubs for ``table``; :class:`ExportRefused` when it cannot be faithful."""
    rules = list(table.rules)
    problems = _refusals(table)
    catch_all = Rule(name="legacy-catch-all", match=RuleMatch(path="/"))
    problems += order_problems(
        [*rules, catch_all],
        lambda index: index // RULES_PER_ROUTE,
        _outcome,
        # a pattern against the catch-all is left to the implementation (and said in the notes)
        unordered=lambda rule, later: rule.match.kind is MatchKind.PATTERN and later is catch_all,
    )
    if problems:
        raise ExportRefused(problems)
    upstreams = dict(table.upstreams)
    route_rules = [_route_rule(rule, upstreams) for rule in rules]
    route_rules.append(
        {
            "name": "legacy-catch-all",
            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            "filters": [_strip_forgeable()],
            "backendRefs": [_backend(upstreams, LEGACY)],
        }
    )
    chunks = [route_rules[i : i + RULES_PER_ROUTE] for i in range(0, len(route_rules), RULES_PER_ROUTE)]
    objects = [_http_route(options, table.version, number, chunk) for number, chunk in enumerate(chunks, 1)]
    objects += [
        _service(options, table.version, name, upstream) for name, upstream in sorted(upstreams.items())
    ]
    return Export(objects, _notes(table))


def _metadata(options: ExportOptions, name: str, version: int, **annotations: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": options.namespace,
        "labels": dict(MANAGED_BY),
        "annotations": {"strangler-fig/route-table-version": str(version), **annotations},
    }


def _http_route(
    options: ExportOptions, version: int, number: int, rules: list[dict[str, Any]]
) -> dict[str, Any]:
    parent: dict[str, Any] = {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": options.gateway,
    }
    if options.gateway_namespace:
        parent["namespace"] = options.gateway_namespace
    spec: dict[str, Any] = {"parentRefs": [parent]}
    if options.hostnames:
        spec["hostnames"] = list(options.hostnames)
    spec["rules"] = rules
    return {
        "apiVersion": GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": _metadata(options, f"{options.name_prefix}-routes-{number}", version),
        "spec": spec,
    }


def _service(options: ExportOptions, version: int, name: str, upstream: Upstream) -> dict[str, Any]:
    """A stub: the port the routes use and a selector to fill in (or replace with the team's own Service)."""
    port = _port(upstream)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(
            options, service_name(name), version, **{"strangler-fig/upstream-url": upstream.url}
        ),
        "spec": {
            "selector": {"app.kubernetes.io/name": service_name(name)},
            "ports": [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}],
        },
    }
