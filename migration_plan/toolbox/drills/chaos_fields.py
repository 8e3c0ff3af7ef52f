"""The chaos drill's field changes: writes that do not commute (a product's name, say), and their check.

A counter's moves add up whatever their order; a field's changes do not: the last one must win. So each
field id has exactly one writer (one load client, :func:`field_owners`), which sends that id's changes one
after the other with values never sent before (``chaos-<seed>-<id>-<n>``): the order of an id's writes is
the order they were sent. Every outcome goes to the :class:`FieldLedger` (never retried, as the counters'
moves).

After the drill each side must hold, for each id, the value of its last acknowledged write, or the value
of one of the writes of unknown outcome sent after it (it may have been applied); with no acknowledged
write, the value from before the drill or one of the unknown ones. Anything else (an older value, a
refused write's value, a value nobody sent) is a lost write (:class:`FieldCheck`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import httpx2

__all__ = ["FieldCheck", "FieldLedger", "FieldWrites", "field_owners", "field_value", "read_fields"]


@dataclass(frozen=True)
class FieldWrites:
    """``method path {key: value}`` changes a record's field; ``GET read`` answers it (``{id}``: the id)."""

    path: str
    key: str
    read: str
    ids: tuple[int, ...]
    method: str = "PATCH"
    share: float = 0.25
    """The part of a field owner's writes that are field changes."""


def field_owners(ids: Sequence[int], clients: int) -> dict[int, tuple[int, ...]]:
    """Client index -> the field ids it alone writes (round robin; a client may own none or several)."""
    if clients < 1:
        raise ValueError("the load needs at least one client")
    return {index: tuple(ids[index::clients]) for index in range(clients)}


def field_value(seed: int, record: int, n: int) -> str:
    """The value of id ``record``'s ``n``-th change: never sent before in this drill."""
    return f"chaos-{seed}-{record}-{n}"


@dataclass
class FieldLedger:
    """Per id, its writes in the order they were sent: (value, outcome)."""

    sent: dict[int, list[tuple[str, str]]] = field(default_factory=dict)

    def record(self, record: int, value: str, outcome: str) -> None:
        self.sent.setdefault(record, []).append((value, outcome))

    def count(self, outcome: str) -> int:
        return sum(1 for writes in self.sent.values() for _, seen in writes if seen == outcome)

    def expected(self, record: int, before: str) -> tuple[str, frozenset[str]]:
        """The value the id must end with (its last acknowledged, else ``before``) and the values of the
        unknown-outcome writes sent after that one, which may stand instead."""
        writes = self.sent.get(record, [])
        last = max((n for n, (_, outcome) in enumerate(writes) if outcome == "acknowledged"), default=-1)
        value = writes[last][0] if last >= 0 else before
        later = frozenset(v for v, outcome in writes[last + 1 :] if outcome == "unknown")
        return value, later


class FieldCheck:
    """Each id's final value on each side against the ledger; ``lost``: ids whose final value is
    explained by no write on at least one side (one per id, as the counters count their worst side)."""

    def __init__(
        self,
        before: Mapping[int, str],
        sides: Mapping[str, Mapping[int, str]],
        ledger: FieldLedger,
    ) -> None:
        self.lost = 0
        self.lines: list[str] = []
        for record, start in sorted(before.items()):
            wanted, unknown = ledger.expected(record, start)
            acked = sum(1 for _, outcome in ledger.sent.get(record, []) if outcome == "acknowledged")
            wrong = False
            for side, values in sides.items():
                end = values[record]
                if end == wanted:
                    verdict = "ok"
                elif end in unknown:
                    verdict = "ok (a later write of unknown outcome)"
                else:
                    wrong = True
                    verdict = f"lost: the last acknowledged value is {wanted!r}"
                self.lines.append(
                    f"field {record} on {side}: {start!r} -> {end!r} ({acked} acknowledged): {verdict}"
                )
            self.lost += wrong


def read_fields(
    url: str, writes: FieldWrites, ids: Iterable[int], auth: tuple[str, str] | None = None
) -> dict[int, str]:
    """Each id's field as a side answers it directly (not through the proxy)."""
    values = {}
    with httpx2.Client(base_url=url, timeout=10.0, auth=auth) as client:
        for record in ids:
            response = client.get(writes.read.replace("{id}", str(record)))
            response.raise_for_status()
            values[record] = str(response.json()[writes.key])
    return values
