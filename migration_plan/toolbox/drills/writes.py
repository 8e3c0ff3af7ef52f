"""Reconciling the drill's acknowledged writes with what each side holds once sync has settled.

The client's ledger is the truth: every write the front door acknowledged is counted there, by the id
of the write probe's counter. Each side's final counter is checked against it on its own (the
monolith, and the service when the probe says so), so a loss both sides share is counted as lost,
however well the sides agree with each other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

import httpx2

from migration_plan.toolbox.drills.load import WriteLedger
from migration_plan.toolbox.drills.profile import WriteProbe

__all__ = ["WriteCheck", "read_counts", "reconcile_writes", "revert_writes"]


def read_counts(url: str, probe: WriteProbe, ids: Iterable[int]) -> dict[int, int]:
    """Each id's counter as a side answers it directly (not through the proxy)."""
    counts = {}
    with httpx2.Client(base_url=url, timeout=10.0, auth=probe.auth) as client:
        for key in ids:
            response = client.get(probe.read_path(key))
            response.raise_for_status()
            counts[key] = probe.count(response.json(), key)
    return counts


class WriteCheck:
    """Per counter and side: before + acknowledged <= after <= before + acknowledged + unknown.

    ``lost``: acknowledged moves missing (the worst side per product); ``duplicated``: moves beyond the
    acknowledged and unknown ones (applied twice, or from nowhere).

    ``directions``: counters whose moves are all negative map to -1; the ledger then counts their units
    (>= 0) and the check runs on the counter's fall, so a missing fall is lost and an extra one duplicated.

    ``label`` names a counter in the lines (default ``counter 1``: ``counter 1: 10 -> 12 ...``)."""

    def __init__(
        self,
        before: dict[int, int],
        after: dict[int, int],
        ledger: WriteLedger,
        *,
        others: Mapping[str, dict[int, int]] | None = None,
        directions: Mapping[int, int] | None = None,
        label: Callable[[int], str] | None = None,
    ) -> None:
        name = label or (lambda key: f"counter {key}")
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
                    f"{name(product)}{where}: {start} -> {end} ({end - start:+d}); acknowledged "
                    f"{sign * acked:+d}, unknown outcome {unknown if sign > 0 else -unknown}: {verdict}"
                )
            self.lost += worst_missing
            self.duplicated += worst_extra


def reconcile_writes(
    legacy_url: str,
    probe: WriteProbe,
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
        after = read_counts(legacy_url, probe, before)
        others = {name: read_counts(url, probe, before) for name, url in (service_urls or {}).items()}
        if all(stock == after for stock in others.values()) or time.monotonic() >= deadline:
            return WriteCheck(before, after, ledger, others=others, label=probe.read_path)
        time.sleep(0.2)


def revert_writes(legacy_url: str, probe: WriteProbe, before: dict[int, int]) -> list[str]:
    """Move each counter back to ``before`` on the monolith (one compensating write each, with the probe's
    ``undo`` key, synced to the services like any other write); one line per counter moved, or one line
    saying that the writes stay when the probe cannot undo them."""
    if probe.undo is None:
        return ["the drill's writes stay in the monolith (the write probe has no undo)"]
    lines = []
    after = read_counts(legacy_url, probe, before)
    with httpx2.Client(base_url=legacy_url, timeout=10.0, auth=probe.auth) as client:
        for key, start in sorted(before.items()):
            delta = start - after[key]
            if delta == 0:
                continue
            response = client.post(probe.write_path(key), json=probe.undo_body(delta))
            response.raise_for_status()
            lines.append(f"{probe.read_path(key)}: {after[key]} -> {start} (drill writes reverted)")
    return lines
