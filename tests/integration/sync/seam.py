"""The seam between the monolith and the orders service, as real processes: LegacyShop and the orders
service under gunicorn, the sync workers both ways, and the data plane in front (read-your-writes and
the customer's journey through the front door)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from strangler_proxy.routes import LEGACY, ActionMode, MatchKind, Rule, RuleAction, RuleMatch, Upstream
from tests.integration.dataplane.harness import DataPlaneProcess, Store, start_dataplane, table
from tests.integration.sync.harness import SyncStack, running_sync_stack
from tests.support.net import free_port
from tests.support.processes import VENV_BIN, start_process

__all__ = ["Seam", "running_seam", "to_orders"]


@dataclass
class Seam:
    stack: SyncStack
    store: Store
    dataplane: DataPlaneProcess
    orders_url: str

    def publish(self, rules: list[Rule]) -> None:
        upstreams = [
            Upstream(name=LEGACY, url=self.stack.legacy_url),
            Upstream(name="orders", url=self.orders_url),
        ]
        version = self.store.publish(table(upstreams, rules))
        self.store.wait_applied(version, workers=1)


def to_orders(name: str, path: str, methods: set[str], kind: MatchKind = MatchKind.PREFIX) -> Rule:
    return Rule(
        name=name,
        match=RuleMatch(kind=kind, path=path, methods=frozenset(methods)),
        action=RuleAction(mode=ActionMode.NEW, upstream="orders"),
    )


@contextmanager
def running_seam(workdir: Path) -> Iterator[Seam]:
    """LegacyShop, the orders service (with its scoped token), the forward relay, the orders consumer,
    the orders reverse relay and a data plane in front, all on ``workdir``; the table sends everything
    to the legacy until :meth:`Seam.publish`."""
    with running_sync_stack(workdir) as stack, ExitStack() as running:
        home = Path(stack.env["STRANGLER_HOME"])
        orders_port = free_port()
        orders_database_url = f"sqlite:///{home / 'services' / 'orders' / 'orders.sqlite3'}"
        orders = start_process(
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                "new_services/orders/gunicorn.conf.py",
                "new_services.orders.entrypoints.wsgi:app",
            ],
            log_path=workdir / "orders.log",
            env={
                "STRANGLER_HOME": str(home),
                "ORDERS_PORT": str(orders_port),
                "ORDERS_WORKERS": "2",
                "STRANGLER_LEGACY_URL": stack.legacy_url,
                "STRANGLER_LEGACY_INTERNAL_TOKEN": stack.env["LEGACYSHOP_INTERNAL_TOKEN"],
                "STRANGLER_SYNC_DATABASE_URL": stack.sync_database_url,
                "ORDERS_LEGACY_SERVICE_TOKEN_FILE": str(workdir / "legacy" / "service_tokens" / "orders"),
            },
            ready_url=f"http://127.0.0.1:{orders_port}/readyz",
        )
        running.callback(orders.stop)
        stack.sync("backfill", "orders", "--no-progress")
        stack.start("relay")
        stack.start("consume-orders")
        stack.start(
            "reverse",
            name="reverse-orders",
            env={
                "STRANGLER_SYNC_ORIGIN": "orders",
                "STRANGLER_SYNC_SERVICE_DATABASE_URL": orders_database_url,
            },
        )
        store = Store(workdir / "store.sqlite3")
        running.callback(store.engine.dispose)
        dataplane = start_dataplane(
            home,
            store,
            stack.legacy_url,
            extra_env={"STRANGLER_LEGACY_INTERNAL_TOKEN": stack.env["LEGACYSHOP_INTERNAL_TOKEN"]},
        )
        running.callback(dataplane.process.stop)
        yield Seam(stack, store, dataplane, f"http://127.0.0.1:{orders_port}")
