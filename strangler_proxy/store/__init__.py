"""The store shared by the control plane and the data plane.

``schema`` (the tables), ``engine`` (``make_engine``) and ``migrate`` use SQLAlchemy and Alembic;
``pointer`` (the active-version pointer) and ``histogram`` (the latency buckets) import nothing but the
standard library, and are all a data-plane worker imports of the store. So this package imports
SQLAlchemy only when ``make_engine`` or ``metadata`` is asked of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strangler_proxy.store.histogram import LATENCY_BUCKETS_MS

if TYPE_CHECKING:
    from strangler_proxy.store.engine import make_engine
    from strangler_proxy.store.schema import metadata

__all__ = ["LATENCY_BUCKETS_MS", "make_engine", "metadata"]


def __getattr__(name: str) -> Any:
    if name == "make_engine":
        from strangler_proxy.store.engine import make_engine

        return make_engine
    if name == "metadata":
        from strangler_proxy.store.schema import metadata

        return metadata
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
