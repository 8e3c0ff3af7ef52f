"""The pace of a drill's own clients: what they sustain back to back (the capacity of the route for that
operation, measured at the start of the drill), and starts at a stated rate afterwards.

``measure_closed_loop`` has every client do its operation back to back for a bounded time; the capacity
is the successful operations per second. ``paced_starts`` then spaces one client's operations so that
all clients together run at a rate: an operation that comes back late skips the starts it delayed
(counted, never queued, never a retry), so a slow side sees no burst afterwards.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from migration_plan.toolbox.drills.capacity import Capacity

__all__ = ["measure_closed_loop", "paced_starts"]

C = TypeVar("C")


def measure_closed_loop(
    clients: Sequence[C], operation: Callable[[C], bool], *, seconds: float, what: str
) -> Capacity:
    """Each client runs ``operation`` (True: it succeeded) back to back for ``seconds`` in a thread of
    its own; an operation that raises stops the probe and is raised here."""
    if seconds <= 0 or not clients:
        raise ValueError("the capacity probe needs seconds > 0 and at least one client")
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()
    errors: list[BaseException] = []
    began = time.monotonic()
    deadline = began + seconds

    def run(client: C) -> None:
        try:
            while time.monotonic() < deadline and not errors:
                ok = operation(client)
                with lock:
                    counts["ok" if ok else "failed"] += 1
        except BaseException as exc:  # raised below, in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(client,), daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"the capacity probe failed: {errors[0]!r}") from errors[0]
    elapsed = time.monotonic() - began
    total = counts["ok"] + counts["failed"]
    return Capacity(counts["ok"] / elapsed, total, counts["failed"], elapsed, len(clients), what=what)


def paced_starts(stop: threading.Event, interval: float, rng: random.Random) -> Iterator[int]:
    """Yields when the client's next operation is due (every ``interval`` seconds, from a random phase),
    with how many starts were skipped since the previous one (it came back late); ends once ``stop`` is
    set."""
    if interval <= 0:
        raise ValueError("the interval between operations must be more than 0")
    due = time.monotonic() + rng.random() * interval
    while not stop.is_set():
        now = time.monotonic()
        if now < due:
            stop.wait(due - now)
            continue
        due += interval
        skipped = 0
        if due < time.monotonic():  # the last operation came back late: skip the starts it delayed
            skipped = int((time.monotonic() - due) / interval) + 1
            due += skipped * interval
        yield skipped
