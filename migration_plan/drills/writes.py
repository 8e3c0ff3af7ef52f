"""Reconciling the drill's acknowledged stock writes with what each side holds once sync has settled.

The client's ledger is the truth: every write the front door acknowledged is counted there. Each side's
final stock is checked against it on its own (the monolith, and the service when the drill runs one),
so a loss both sides share is counted as lost, however well the sides agree with each other.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

import httpx2

from migration_plan.drills.load import WriteLedger

__all__ = ["WriteCheck", "read_stock", "reconcile_writes", "revert_stock"]


def read_stock(legacy_url: str, product_ids: Iterable[int]) -> dict[int, int]:
    """Each product's stock as a side answers it directly (not through the proxy)."""
    stock = {}
    with httpx2.Client(base_url=legacy_url, timeout=10.0) as client:
        for product in product_ids:
            response = client.get(f"/api/products/{product}")
            response.raise_for_status()
            stock[product] = int(response.json()["stock"])
    return stock


class WriteCheck:
    """Per product and side: before + acknowledged <= after <= before + acknowledged + unknown.

    ``lost``: acknowledged moves missing (the worst side per product); ``duplicated``: moves beyond the
    acknowledged and unknown ones (applied twice, or from nowhere).

    ``directions``: products whose moves are all negative map to -1; the ledger then counts their units
    (>= 0) and the check runs on the stock's fall, so a missing fall is lost and an extra one duplicated."""

    def __init__(
        self,
        before: dict[int, int],
        after: dict[int, int],
        ledger: WriteLedger,
        *,
        others: Mapping[str, dict[int, int]] | None = None,
        directions: Mapping[int, int] | None = None,
    ) -> None:
        self.lost = 0
        self.duplicated = 0
        self.lines: list[str] = []
        sides = {"legacy": after, **(others or {})}
        for product, start in sorted(before.items()):
            acked = ledger.acknowledged[product]
            unknown = ledger.unknown[product]
            sign = -1 if (directions or {}).get(product, 1) < 0 else 1
            worst_missing = worst_extra = 0
            for side, stock in sides.items():
                end = stock[product]
                applied = (end - start) * sign
                missing = max(0, acked - applied)
                extra = max(0, applied - acked - unknown)
                worst_missing, worst_extra = max(worst_missing, missing), max(worst_extra, extra)
                verdict = "ok" if not missing and not extra else f"{missing} lost, {extra} unexplained"
                where = "" if len(sides) == 1 else f" on {side}"
                self.lines.append(
                    f"product {product}{where}: stock {start} -> {end} ({end - start:+d}); acknowledged "
                    f"{sign * acked:+d}, unknown outcome {unknown if sign > 0 else -unknown}: {verdict}"
                )
            self.lost += worst_missing
            self.duplicated += worst_extra


def reconcile_writes(
    legacy_url: str,
    before: dict[int, int],
    ledger: WriteLedger,
    *,
    service_urls: Mapping[str, str] | None = None,
    settle_s: float = 20.0,
) -> WriteCheck:
    """Check the monolith, and each service of ``service_urls``, once they agree (or ``settle_s`` passed:
    then each is judged as it stands)."""
    deadline = time.monotonic() + settle_s
    while True:
        after = read_stock(legacy_url, before)
        others = {name: read_stock(url, before) for name, url in (service_urls or {}).items()}
        if all(stock == after for stock in others.values()) or time.monotonic() >= deadline:
            return WriteCheck(before, after, ledger, others=others)
        time.sleep(0.2)


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
