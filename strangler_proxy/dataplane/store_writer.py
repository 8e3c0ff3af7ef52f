"""What a worker writes to the control plane's store: per-second route stats and its own heartbeat row.

Synchronous DB-API calls through :class:`StoreClient`, run in a thread by the background tasks, never
on the request path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from strangler_proxy.dataplane.agent_client import AgentStoreClient
from strangler_proxy.dataplane.failing_requests import FailingRequest
from strangler_proxy.dataplane.stats import SecondRow
from strangler_proxy.dataplane.store_client import StoreClient

__all__ = ["StoreWriter"]


class StoreWriter:
    def __init__(self, client: StoreClient | AgentStoreClient, *, worker: str, pid: int) -> None:
        self._client = client
        self.worker = worker
        self.pid = pid

    def write_stats(self, rows: Sequence[SecondRow]) -> int:
        return self._client.write_stats(self.worker, rows)

    def write_unmatched_paths(self, second: int, shapes: Sequence[tuple[str, int]]) -> int:
        """The shapes of the unmatched paths counted since the previous call, stamped ``second``."""
        return self._client.write_unmatched_paths(self.worker, second, shapes)

    def write_failing_requests(self, failures: Sequence[FailingRequest]) -> int:
        """The failing requests kept since the previous call (at most a ring's worth per route)."""
        return self._client.write_failing_requests(self.worker, failures)

    def heartbeat(
        self, *, version_id: int | None, generation: int | None, applied_at: datetime | None
    ) -> None:
        """Upsert this worker's row; ``applied_at`` is only written when given (a version was applied)."""
        self._client.heartbeat(
            self.worker, self.pid, version_id=version_id, generation=generation, applied_at=applied_at
        )

    def prune(self, older_than: datetime) -> int:
        """Remove the rows of workers (of any data plane) silent since before ``older_than``."""
        return self._client.prune(older_than)

    def forget(self) -> None:
        """Remove this worker's row at a clean shutdown."""
        self._client.forget(self.worker)
