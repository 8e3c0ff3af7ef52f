"""Shadow traffic: the legacy answers, the new upstream is mirrored in the background and compared.

The request-serving worker only hands each shadowed exchange to the shadow process
(:class:`~strangler_proxy.dataplane.shadow.channel.ShadowClient`, non-blocking, drop-and-count);
the shadow process (``python -m strangler_proxy.dataplane.shadow``, started and supervised by
``python -m strangler_proxy.dataplane``) replays and compares:

    client = ReplayClient(pool_size=..., max_body_bytes=...)  # replay_client: HTTP/1.1 keep-alive
    mirror = ShadowMirror(client, upstream_urls, sink)       # one per shadow process
    mirror.mirror(rule, submission)                           # for each exchange received
    await mirror.aclose(); await client.aclose()              # at shutdown

Sinks: :class:`StoreShadowSink` (``shadow_counts`` per second, recent diffs in ``shadow_samples``),
:class:`MemoryShadowSink` (tests).

Names are imported on first use, so a worker that only needs the channel does not load the
comparison code or the store's SQL toolkit.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "SHADOW_HEADER",
    "Comparison",
    "MemoryShadowSink",
    "ResponseSnapshot",
    "ShadowMirror",
    "ShadowOutcome",
    "ShadowSample",
    "ShadowSink",
    "StoreShadowSink",
    "compare_responses",
]

_HOMES = {
    "Comparison": "compare",
    "ResponseSnapshot": "compare",
    "compare_responses": "compare",
    "DEFAULT_MAX_BODY_BYTES": "mirror",
    "SHADOW_HEADER": "mirror",
    "ShadowMirror": "mirror",
    "ShadowOutcome": "records",
    "ShadowSample": "records",
    "ShadowSink": "records",
    "MemoryShadowSink": "sinks",
    "StoreShadowSink": "sinks",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
