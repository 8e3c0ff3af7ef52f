"""A shadowed exchange handed from the forwarder to the shadow process: the request as sent (its body
from the tee), the legacy's answer as relayed, the shadow upstream's address."""

from __future__ import annotations

from starlette.types import Scope

from strangler_proxy.dataplane.headers import ForwardedRequest
from strangler_proxy.dataplane.live import ServedTable
from strangler_proxy.dataplane.request_body import BodyStream
from strangler_proxy.dataplane.routing import Decision
from strangler_proxy.dataplane.shadow.channel import ShadowClient

__all__ = ["submit_exchange"]


def submit_exchange(
    shadow: ShadowClient,
    scope: Scope,
    served: ServedTable,
    decision: Decision,
    request: ForwardedRequest,
    status: int,
    headers: list[tuple[bytes, bytes]],
    tee: list[bytes] | None,
    body: bytes | BodyStream | None,
    raw_target: bytes,
    mirror_headers: list[tuple[str, str]],
) -> None:
    """Hand a shadowed exchange to the shadow process (never waited on); not when the request body
    was too large to replay."""
    if isinstance(body, BodyStream):
        if body.tee is None:
            return  # the request body was too large to replay
        request_body = b"".join(body.tee)
    else:
        request_body = body or b""
    assert decision.shadow_upstream is not None  # a shadowed decision names its shadow upstream
    shadow.submit(  # positionally: keywords cost more on this path than they explain
        decision,
        served.version,
        request.request_id,
        scope["method"],
        raw_target,
        mirror_headers,
        request_body,
        status,
        headers,
        None if tee is None else b"".join(tee),
        served.upstream_url(decision.shadow_upstream),
    )
