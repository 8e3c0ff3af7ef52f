"""Shadow traffic: the legacy answers, the new upstream is mirrored in the background and compared.

    mirror = ShadowMirror(session, upstream_urls, sink)     # one per worker, at startup
    mirror.submit(decision=..., ...)                          # after the legacy's response was sent
    await mirror.aclose()                                     # at shutdown

Sinks: :class:`StoreShadowSink` (``shadow_counts`` per second, recent diffs in ``shadow_samples``),
:class:`MemoryShadowSink` (tests).
"""

from strangler_proxy.dataplane.shadow.compare import Comparison, ResponseSnapshot, compare_responses
from strangler_proxy.dataplane.shadow.mirror import DEFAULT_MAX_BODY_BYTES, SHADOW_HEADER, ShadowMirror
from strangler_proxy.dataplane.shadow.records import ShadowOutcome, ShadowSample, ShadowSink
from strangler_proxy.dataplane.shadow.sinks import MemoryShadowSink, StoreShadowSink

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
