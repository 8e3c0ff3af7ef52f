"""Registering an upstream that routes already use takes effect at once.

A route table carries each upstream it names with its address (a version is immutable, so what it
serves never depends on the registry's later state). Changing a registered upstream's address or
breaker settings therefore publishes a new version: the active table with that upstream replaced,
reason ``upstream NAME moved OLD -> NEW``, so the data planes send traffic to the new address as soon
as they apply it, instead of at some later, unrelated publish.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strangler_proxy.controlplane.errors import StaleVersion
from strangler_proxy.controlplane.service_layer.publishing import Actor, PublishingService, PublishResult
from strangler_proxy.controlplane.service_layer.upstreams import UpstreamService
from strangler_proxy.routes import Upstream

__all__ = ["MOVE_ACTION", "Registration", "publish_upstream_change", "register_upstream"]

MOVE_ACTION = "upstream.move"
_ATTEMPTS = 5


@dataclass(frozen=True)
class Registration:
    upstream: Upstream
    created: bool
    published: PublishResult | None
    """The version published because the active table named the upstream with other settings."""


def register_upstream(
    upstreams: UpstreamService, publishing: PublishingService, data: dict[str, Any], *, actor: Actor
) -> Registration:
    """Register or update an upstream; when the active table names it with another address (or other
    breaker settings), publish the active table with the registered upstream at once."""
    upstream, created = upstreams.save(data)
    published = None if created else publish_upstream_change(publishing, upstream, actor=actor)
    return Registration(upstream, created, published)


def publish_upstream_change(
    publishing: PublishingService, upstream: Upstream, *, actor: Actor
) -> PublishResult | None:
    """Publish the active table with ``upstream`` in place of its namesake; None when the active table
    does not name it or names it exactly so. Retried when another publish wins the race."""
    for attempt in range(_ATTEMPTS):
        pointer, record = publishing.active()
        table = record.table
        current = table.upstreams.get(upstream.name)
        if current is None or current == upstream:
            return None
        if current.url != upstream.url:
            reason = f"upstream {upstream.name} moved {current.url} -> {upstream.url}"
        else:
            reason = f"upstream {upstream.name} breaker settings changed"
        candidate = table.model_copy(update={"upstreams": {**table.upstreams, upstream.name: upstream}})
        try:
            return publishing.publish(
                candidate,
                actor=actor,
                reason=reason,
                expected_version=pointer.version_id,
                action=MOVE_ACTION,
                target=upstream.name,
            )
        except StaleVersion:
            if attempt == _ATTEMPTS - 1:
                raise
    return None
