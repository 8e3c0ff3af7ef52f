"""Reconciling the drill's acknowledged stock writes with what the monolith holds after the drain."""

from __future__ import annotations

from collections.abc import Iterable

import httpx2

from migration_plan.drills.load import WriteLedger

__all__ = ["WriteCheck", "read_stock", "reconcile_writes", "revert_stock"]


def read_stock(legacy_url: str, product_ids: Iterable[int]) -> dict[int, int]:
    """Each product's stock as the monolith answers it directly (not through the proxy)."""
    stock = {}
    with httpx2.Client(base_url=legacy_url, timeout=10.0) as client:
        for product in product_ids:
            response = client.get(f"/api/products/{product}")
            response.raise_for_status()
            stock[product] = int(response.json()["stock"])
    return stock


class WriteCheck:
    """Per product: before + acknowledged <= after <= before + acknowledged + unknown."""

    def __init__(self, before: dict[int, int], after: dict[int, int], ledger: WriteLedger) -> None:
        self.lost = 0
        self.lines: list[str] = []
        for product, start in sorted(before.items()):
            acked = ledger.acknowledged[product]
            unknown = ledger.unknown[product]
            end = after[product]
            applied = end - start
            missing = max(0, acked - applied)
            extra = max(0, applied - acked - unknown)
            self.lost += missing
            verdict = "ok" if not missing and not extra else f"{missing} lost, {extra} unexplained"
            self.lines.append(
                f"product {product}: stock {start} -> {end} (+{applied}); acknowledged +{acked}, "
                f"unknown outcome {unknown}: {verdict}"
            )


def reconcile_writes(legacy_url: str, before: dict[int, int], ledger: WriteLedger) -> WriteCheck:
    return WriteCheck(before, read_stock(legacy_url, before), ledger)


def revert_stock(legacy_url: str, before: dict[int, int], auth: tuple[str, str]) -> list[str]:
    """Move each product's stock back to ``before`` on the monolith (one compensating ``delta`` write
    each, synced to the services like any other write); one line per product moved."""
    lines = []
    after = read_stock(legacy_url, before)
    with httpx2.Client(base_url=legacy_url, timeout=10.0, auth=auth) as client:
        for product, start in sorted(before.items()):
            delta = start - after[product]
            if delta == 0:
                continue
            response = client.post(f"/api/products/{product}/stock", json={"delta": delta})
            response.raise_for_status()
            lines.append(f"product {product}: stock {after[product]} -> {start} (drill writes reverted)")
    return lines
