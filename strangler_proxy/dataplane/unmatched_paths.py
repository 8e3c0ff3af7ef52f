"""The paths of the requests no rule matched, counted by shape in a bounded top-N summary.

The request path appends the raw path to a list (one list append); the list is folded into the
summary off the request path (when the flush task drains it, or inline when ``fold_at`` paths are
pending): paths become shapes (``/orders/{int}``, see :mod:`strangler_proxy.routes.path_shapes`) and
are counted with the *space-saving* algorithm: at most ``top`` shapes are kept; a new shape arriving
when the summary is full takes the place of the least counted one, inheriting its count as its
possible error. A shape's ``requests`` as drained is its count minus that error: a lower bound of its
true count, exact for every shape that has been kept since the summary began (the heavy hitters of a
skewed stream). Memory is bounded by ``top`` and ``fold_at`` whatever the traffic; the paths are never
metric labels.
"""

from __future__ import annotations

import heapq
from collections import Counter

from strangler_proxy.routes.path_shapes import path_shape

__all__ = ["DEFAULT_TOP", "UnmatchedPaths"]

DEFAULT_TOP = 100
"""Shapes kept per worker and flush interval when ``STRANGLER_UNMATCHED_PATHS_TOP`` is not set."""
_FOLD_AT = 10_000


class UnmatchedPaths:
    """One worker's summary; not thread-safe (one event loop owns it)."""

    def __init__(self, top: int = DEFAULT_TOP, *, fold_at: int = _FOLD_AT) -> None:
        if top < 1:
            raise ValueError("top must be at least 1")
        self.top = top
        self._fold_at = fold_at
        self._pending: list[str] = []
        self._counts: dict[str, list[int]] = {}
        """shape -> [count, error]"""
        self.total = 0
        """Paths counted since the last drain (kept or not)."""

    def add(self, path: str) -> None:
        """Count one unmatched request (the request path's only work)."""
        pending = self._pending
        pending.append(path)
        if len(pending) >= self._fold_at:
            self._fold()

    def _fold(self) -> None:
        raw = Counter(self._pending)
        self._pending.clear()
        shapes: Counter[str] = Counter()
        for path, n in raw.items():
            shapes[path_shape(path)] += n
        counts = self._counts
        heap: list[tuple[int, str]] | None = None
        for shape, weight in shapes.items():
            self.total += weight
            entry = counts.get(shape)
            if entry is not None:
                entry[0] += weight
                continue
            if len(counts) < self.top:
                counts[shape] = [weight, 0]
                continue
            if heap is None:
                heap = [(entry[0], name) for name, entry in counts.items()]
                heapq.heapify(heap)
            floor = self._evict_least(heap)
            counts[shape] = [floor + weight, floor]
            heapq.heappush(heap, (floor + weight, shape))

    def _evict_least(self, heap: list[tuple[int, str]]) -> int:
        """Remove the least counted shape; its count. Heap entries may be stale (a count grew since it
        was pushed, or the shape went): those are fixed as they come up."""
        counts = self._counts
        while True:
            count, shape = heapq.heappop(heap)
            entry = counts.get(shape)
            if entry is None:
                continue
            if entry[0] != count:
                heapq.heappush(heap, (entry[0], shape))
                continue
            del counts[shape]
            return count

    def drain(self) -> tuple[list[tuple[str, int]], int]:
        """The kept shapes with their guaranteed counts (most counted first, zeros left out) and the
        number of paths counted, both since the previous drain; the summary starts again empty."""
        self._fold()
        kept = sorted(
            ((shape, count - error) for shape, (count, error) in self._counts.items() if count > error),
            key=lambda item: (-item[1], item[0]),
        )
        total, self.total = self.total, 0
        self._counts = {}
        return kept, total
