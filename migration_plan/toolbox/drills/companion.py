"""Optional locust load beside a drill's own load: the project's locustfile (``[load] locustfile`` of
strangler.toml, else the demo shop's traffic mix in loadtests/), run headless by `strangler load`'s runner
for the drill's planned length.

The drill's figures come from its own load generator, which knows the side that answered each request
and the outcome of each write; locust's figures are reported beside them (requests, failures per
endpoint, p95), not counted in ``failed_requests``: its flows (cart, checkout) can fail for reasons
of their own, which its per-endpoint failures show.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

from migration_plan.toolbox.load.runner import LoadError, LoadOptions, run_load
from migration_plan.toolbox.load.summary import LoadSummary

__all__ = ["LocustCompanion"]


class LocustCompanion:
    """Runs locust in a thread; :meth:`finish` waits for it and returns its summary (or why it failed)."""

    def __init__(
        self,
        host: str,
        *,
        users: int,
        seconds: float,
        reports_dir: Path,
        prefix: str,
        product_ids: tuple[int, ...] = (),
        locustfile: Path | None = None,
    ) -> None:
        """``product_ids``: the products locust browses and buys (LOADTEST_PRODUCT_IDS), kept apart
        from the drill's stock writes so that its checkouts do not blur their reconciliation;
        ``locustfile``: the project's (``[load] locustfile``), None: the demo's."""
        env = {"LOADTEST_PRODUCT_IDS": ",".join(map(str, product_ids))} if product_ids else {}
        self.options = LoadOptions(
            host=host,
            users=users,
            spawn_rate=float(users),
            run_time_s=max(1, math.ceil(seconds)),
            reports_dir=reports_dir,
            csv_prefix=prefix,
            env=env,
            locustfile=locustfile or Path("loadtests/shop.py"),
        )
        self.summary: LoadSummary | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="drill-locust", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            self.summary = run_load(self.options)
        except (LoadError, OSError) as exc:
            self.error = str(exc)

    def finish(self) -> None:
        self._thread.join(timeout=self.options.run_time_s + 120)
        if self._thread.is_alive():
            self.error = "locust did not finish in time"

    def describe(self) -> list[str]:
        """Lines for the drill report."""
        if self.error is not None:
            return [f"locust companion load failed: {self.error}"]
        summary = self.summary
        if summary is None:
            return []
        lines = [
            f"locust companion load: {summary.users} users for {summary.run_time_s} s, "
            f"{summary.requests} requests, {summary.failures} failures ({summary.error_rate:.2%}), "
            f"p95 {summary.p95_ms:g} ms; CSV {summary.csv_prefix}_stats.csv"
        ]
        lines += [
            f"locust {endpoint.method} {endpoint.name}: {endpoint.failures} failures of {endpoint.requests}"
            for endpoint in summary.endpoints
            if endpoint.failures
        ]
        return lines
