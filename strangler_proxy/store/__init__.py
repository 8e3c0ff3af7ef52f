"""The store schema and engine factory shared by the data plane and the control plane."""

from strangler_proxy.store.engine import make_engine
from strangler_proxy.store.schema import LATENCY_BUCKETS_MS, metadata

__all__ = ["LATENCY_BUCKETS_MS", "make_engine", "metadata"]
