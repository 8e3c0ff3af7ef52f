"""Imperative mapping of the domain's Product onto the catalog table; the domain never imports this.

``start_mappers()`` is idempotent and called by the composition root (and by the SQLAlchemy unit of
work), never at import time.
"""

from __future__ import annotations

import threading

from sqlalchemy.orm import composite, registry

from new_services.catalog.adapters.tables import products
from new_services.catalog.domain import Money, Product

__all__ = ["mapper_registry", "start_mappers"]

mapper_registry = registry()
_lock = threading.Lock()
_started = False


def start_mappers() -> None:
    global _started
    with _lock:
        if _started:
            return
        mapper_registry.map_imperatively(
            Product,
            products,
            properties={
                "_price_cents": products.c.price_cents,
                "_currency": products.c.currency,
                "price": composite(Money, products.c.price_cents, products.c.currency),
                "category": products.c.category_path,
            },
        )
        _started = True
