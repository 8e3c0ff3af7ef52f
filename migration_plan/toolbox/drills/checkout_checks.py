"""The crash drill's invariants, as pure functions of what the drill observed (unit-tested on their own).

oversold    a product's stock below zero at any reading, or more units sold in acknowledged orders than
            the stock lost: ``stock + units in acknowledged orders > initial``
held        stock gone without an acknowledged order to show for it (a reservation left behind, or an
            order placed whose answer was lost and never learnt by asking again under its key):
            ``stock + units in acknowledged orders < initial``
lost        an acknowledged order that one side does not have after the sync
unfinished  checkouts the service still reports unfinished (or compensated but holding stock) after
            its recovery worker ran
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Checkout", "CheckoutLedger", "StockCheck", "check_stock", "missing_orders"]


@dataclass(frozen=True)
class Checkout:
    """One checkout as its client saw it."""

    customer: str
    key: str
    """The ``Idempotency-Key`` it was sent with (a retry of an unknown outcome sends it again)."""
    status: int | None
    """The answer's status; None when no answer came (the service died under it)."""
    order_no: str | None = None
    units: Mapping[int, int] = field(default_factory=dict)
    """Units per product of the acknowledged order (its answer's lines)."""
    error: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.status == 201 and self.order_no is not None


@dataclass
class CheckoutLedger:
    """Every checkout of the drill, in the order the answers came."""

    entries: list[Checkout] = field(default_factory=list)

    def add(self, entry: Checkout) -> None:
        self.entries.append(entry)

    @property
    def acknowledged(self) -> list[Checkout]:
        return [entry for entry in self.entries if entry.acknowledged]

    @property
    def unknown(self) -> list[Checkout]:
        """Checkouts without an answer whose retry under the same key (if any) did not answer either."""
        settled = {entry.key for entry in self.entries if entry.status is not None}
        return [entry for entry in self.entries if entry.status is None and entry.key not in settled]

    def units(self) -> dict[int, int]:
        """Units per product in acknowledged orders (an order acknowledged twice, by a retry, counts once)."""
        seen: set[str] = set()
        total: dict[int, int] = {}
        for entry in self.acknowledged:
            assert entry.order_no is not None
            if entry.order_no in seen:
                continue
            seen.add(entry.order_no)
            for product, quantity in entry.units.items():
                total[product] = total.get(product, 0) + quantity
        return total

    def order_numbers(self) -> list[str]:
        return sorted({entry.order_no for entry in self.acknowledged if entry.order_no is not None})


@dataclass(frozen=True)
class StockCheck:
    oversold: int
    """Units sold beyond the stock (summed over the products), plus readings below zero."""
    held: int
    """Units gone from the stock without an acknowledged order (beyond the unknown outcomes' units)."""
    lines: list[str]


def check_stock(
    initial: Mapping[int, int],
    final: Mapping[int, int],
    sold: Mapping[int, int],
    *,
    lowest: Mapping[int, int] | None = None,
) -> StockCheck:
    """Judge each product: ``final + sold`` must equal ``initial`` (``sold``: units in acknowledged
    orders); ``lowest`` (the lowest reading during the drill) and ``final`` never below zero."""
    oversold = held = 0
    lines = []
    for product, start in sorted(initial.items()):
        end = final[product]
        units = sold.get(product, 0)
        low = min(end, (lowest or {}).get(product, end))
        excess = max(0, end + units - start)
        below = max(0, -low)
        gone = max(0, start - end - units)
        oversold += excess + below
        held += gone
        verdict = "ok"
        if excess or below:
            verdict = f"OVERSOLD by {excess + below}"
        elif gone:
            verdict = f"{gone} unit(s) gone without an acknowledged order"
        lines.append(
            f"product {product}: stock {start} -> {end} (lowest {low}); acknowledged orders hold {units} "
            f"unit(s); {end} + {units} {'=' if end + units == start else '!='} {start}: {verdict}"
        )
    return StockCheck(oversold, held, lines)


def missing_orders(acknowledged: Iterable[str], present: Mapping[str, set[str]]) -> dict[str, list[str]]:
    """For each side, the acknowledged orders it lacks (sides with none missing are left out)."""
    wanted = sorted(set(acknowledged))
    missing = {side: [no for no in wanted if no not in orders] for side, orders in present.items()}
    return {side: numbers for side, numbers in missing.items() if numbers}
