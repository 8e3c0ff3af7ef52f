"""The admin JSON API, mounted under /api/v1.

Authentication: ``Authorization: Bearer sft_...`` (POST /tokens) or the session cookie from POST /session.
Unauthenticated: 401; wrong role: 403 (both audited). State-changing requests must be
``application/json`` or carry the session's CSRF token (``X-CSRF-Token`` / form field ``csrf_token``).
Errors are ``{"error": code, "message": ..., "problems": [...]}``; 409 adds ``active_version``.

    viewer    GET  /session /tokens /routes /routes/{name} /versions /versions/active /versions/{v}
                   /diff?from=&to= /audit?actor=&action=&outcome=&target=&since=&until=&before=&limit=
                   /audit/denials?actor=&address=&action=&before=&limit=    refused requests, one
                                entry per caller, target, reason and minute, with a count
                   /stats?window= /stats/{route}/series?seconds= /shadow?route= /shadow/{id}
                   /stats/{route}/failing-requests?limit=&before=    the route's recent 5xx answers
                                (the data plane keeps the last few per worker), newest first, each
                                with its request id and trace id
                   /stats/unmatched-paths?window=&limit=    the path shapes of the requests no
                                rule matched, most requested first, and the unattributed rest
                   /workers /guards /upstreams /upstreams/health
                   /sync/lag    {direction: {lag_ms, backlog, dead, measured_at, stale} | null}, one
                                key per direction: forward, reverse, reverse:<service>...
              GET /tokens[?user=<name>|*]  (another user's or everyone's: admins only)
              POST /tokens {name, scope?, expires_in_s?}; DELETE /tokens/{id}; DELETE /session
    operator  POST /routes {rule, position?, reason, expected_version?, dry_run?}
              DELETE /routes/{name} {reason, expected_version?}
              POST /routes/{name}/flip {mode, weight?, upstream?, reason, expected_version?, dry_run?}
              POST /routes/{name}/rollback {to: previous|legacy, reason, expected_version?, dry_run?,
                   force?, drain_timeout_s?}    drains the new upstream's reverse sync first (409)
              POST /rollback {reason, expected_version?, force?, drain_timeout_s?}
                   whole table to the previous version (drains every reverse sync direction first
                   when it moves writes off a new upstream; 409 sync_not_drained unless force)
              POST /panic {reason}                          every route to legacy
              POST /versions {table, expected_version, reason, dry_run?}
              POST /versions/{v}/activate {reason, expected_version?}
              POST /override-token {side: legacy|new, ttl_s}
    admin     GET/POST /users, PATCH /users/{username}; PUT/DELETE /upstreams/{name} {url, breaker?}
              PUT /guards/{route} {enabled, settings}
    anyone    POST /session {username, password}
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from strangler_proxy.controlplane.api import admin_api, observe_api, routes_api, session_api, versions_api
from strangler_proxy.controlplane.service_layer.composition import ControlPlaneServices

__all__ = ["api_routes"]


def api_routes(services: ControlPlaneServices) -> list[BaseRoute]:
    """Every /api/v1 route; errors are answered as JSON by the app's exception handlers."""
    modules = (session_api, routes_api, versions_api, observe_api, admin_api)
    return [route for module in modules for route in module.routes(services)]
