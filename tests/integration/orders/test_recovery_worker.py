"""The recovery worker as a real process against a real monolith (gunicorn): checkouts a crash left
half-done are finished within the bound, nothing is taken or given back twice, and a second run changes
nothing.

The crashes happen in this test's process, in the middle of real sagas on the orders database (SQLite)
and the monolith's stock API; the worker is ``python -m new_services.orders recover --every ...``.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from acl.identity_verifier import load_identity_key
from new_services.kit.engine import make_engine
from new_services.orders.adapters.legacy_stock import LegacyStock
from new_services.orders.adapters.migrate import MIGRATIONS
from new_services.orders.adapters.tables import checkout_reservations, checkouts, orders
from new_services.orders.adapters.unit_of_work import SqlAlchemyUnitOfWork
from new_services.orders.domain import CheckoutCart, CheckoutStatus, OrderStatus, ReservationState
from new_services.orders.service_layer import CheckoutSaga, PlaceOrder, StockedProduct
from tests.support.legacy_shop import prepare_legacy_shop, start_legacy_shop
from tests.support.processes import ROOT, RunningProcess, start_process

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("orders_recovery_worker")]

STAFF_PASSWORD = "staff-password-123"
EVERY, OLDER_THAN = 0.5, 2.0


class Crash(BaseException):
    """The orders worker dies in the middle of a step: no compensation runs."""


@dataclass
class Shop:
    legacy_url: str
    engine: Engine
    env: dict[str, str]
    home: Path

    def stock(self, product_id: int) -> int:
        with urllib.request.urlopen(f"{self.legacy_url}/api/products/{product_id}", timeout=10) as answer:
            return int(json.loads(answer.read())["stock"])

    def legacy_stock(self) -> LegacyStock:
        """The stock adapter as the orders service holds it: with its scoped service token."""
        token_file = Path(self.env["ORDERS_LEGACY_SERVICE_TOKEN_FILE"])
        return LegacyStock.connect(self.legacy_url, token=lambda: token_file.read_text().strip() or None)

    def saga(self, stock: LegacyStock, cls: type[CheckoutSaga] = CheckoutSaga) -> CheckoutSaga:
        return cls(
            uow_factory=lambda: SqlAlchemyUnitOfWork(self.engine),
            stock=stock,
            clock=lambda: datetime.now(UTC),
        )

    def checkout(self, checkout_id: str) -> tuple[str, list[tuple[int, str]]]:
        with self.engine.connect() as connection:
            status = connection.execute(
                select(checkouts.c.status).where(checkouts.c.id == checkout_id)
            ).scalar_one()
            rows = connection.execute(
                select(checkout_reservations.c.product_id, checkout_reservations.c.state)
                .where(checkout_reservations.c.checkout_id == checkout_id)
                .order_by(checkout_reservations.c.position)
            ).all()
        return status, [(row.product_id, row.state) for row in rows]

    def snapshot(self) -> list[tuple]:
        with self.engine.connect() as connection:
            return [
                *connection.execute(select(checkouts).order_by(checkouts.c.id)).all(),
                *connection.execute(
                    select(checkout_reservations).order_by(checkout_reservations.c.checkout_id)
                ).all(),
                *connection.execute(
                    select(orders.c.order_no, orders.c.status).order_by(orders.c.order_no)
                ).all(),
            ]

    def recover(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "new_services.orders", "recover", *args],
            cwd=ROOT,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    legacy_dir = tmp_path_factory.mktemp("legacy")
    home = tmp_path_factory.mktemp("strangler_home")
    monolith = prepare_legacy_shop(
        legacy_dir, seed=["--products", "10", "--customers", "2", "--orders", "0", "--seed", "7"], workers=2
    )
    legacy_port = monolith.port
    legacy = start_legacy_shop(monolith)
    staff = {
        "Authorization": "Basic " + base64.b64encode(f"staff:{STAFF_PASSWORD}".encode()).decode(),
        "Content-Type": "application/json",
    }
    for product_id in (1, 2, 3):  # in stock, whatever the seed gave them
        request = urllib.request.Request(
            f"http://127.0.0.1:{legacy_port}/api/products/{product_id}/stock",
            data=json.dumps({"quantity": 10}).encode(),
            headers=staff,
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200
    load_identity_key(home)  # the key the proxy would share with the service
    database_url = f"sqlite:///{home / 'orders.sqlite3'}"
    engine = make_engine(database_url)
    MIGRATIONS.upgrade_to_head(engine)
    env = {
        "STRANGLER_HOME": str(home),
        "STRANGLER_LEGACY_URL": f"http://127.0.0.1:{legacy_port}",
        "ORDERS_DATABASE_URL": database_url,
        # as a service: the monolith's scoped token for the orders service (written at its start)
        "ORDERS_LEGACY_SERVICE_TOKEN_FILE": str(legacy_dir / "service_tokens" / "orders"),
    }
    try:
        yield Shop(f"http://127.0.0.1:{legacy_port}", engine, env, home)
    finally:
        engine.dispose()
        legacy.stop()


class CrashAtConfirm(CheckoutSaga):
    """Stock reserved, order created (pending): the process dies before confirming."""

    def _confirm(self, checkout, order):  # type: ignore[no-untyped-def]
        raise Crash()


class CrashAfterTheMonolithApplied:
    """The monolith applied the reservation of ``product_id``; the process died before logging it."""

    def __init__(self, stock: LegacyStock, product_id: int) -> None:
        self._stock, self._product_id = stock, product_id

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._stock, name)

    def reserve(self, step_id: str, product_id: int, quantity: int) -> StockedProduct:
        answer = self._stock.reserve(step_id, product_id, quantity)
        if product_id == self._product_id:
            raise Crash()
        return answer


def _wait_until_compensated(shop: Shop, ids: list[str], worker: RunningProcess, deadline: float) -> None:
    while time.monotonic() < deadline:
        if all(shop.checkout(i)[0] == CheckoutStatus.COMPENSATED.value for i in ids):
            return
        assert worker.alive(), worker.log()
        time.sleep(0.1)  # polling the database for the worker's result, not waiting for readiness
    pytest.fail(f"not compensated in time: {[shop.checkout(i) for i in ids]}\n{worker.log()}")


def test_the_worker_finishes_half_done_checkouts_within_its_bound_and_a_second_run_changes_nothing(
    shop: Shop,
) -> None:
    before = {product_id: shop.stock(product_id) for product_id in (1, 2, 3)}
    stock = shop.legacy_stock()
    try:
        with pytest.raises(Crash):  # A: reservation made, order pending
            shop.saga(stock, CrashAtConfirm).place_order(PlaceOrder(1, CheckoutCart.of([(1, 2)]), "k-a"))
        with pytest.raises(Crash):  # B: the monolith applied line 3's reservation, the log says "reserving"
            shop.saga(CrashAfterTheMonolithApplied(stock, 3)).place_order(  # type: ignore[arg-type]
                PlaceOrder(1, CheckoutCart.of([(2, 1), (3, 1)]), "k-b")
            )
        crashed_at = time.monotonic()
    finally:
        stock.close()
    with shop.engine.connect() as connection:
        ids = {row.idempotency_key: row.id for row in connection.execute(select(checkouts)).all()}
        (pending,) = connection.execute(select(orders.c.order_no, orders.c.status)).all()
    assert pending.status == OrderStatus.PENDING.value
    assert shop.checkout(ids["k-a"]) == (
        CheckoutStatus.ORDER_CREATED.value,
        [(1, ReservationState.RESERVED.value)],
    )
    assert shop.checkout(ids["k-b"])[1] == [
        (2, ReservationState.RESERVED.value),
        (3, ReservationState.RESERVING.value),
    ]
    assert [shop.stock(p) for p in (1, 2, 3)] == [before[1] - 2, before[2] - 1, before[3] - 1]

    heartbeat = shop.home / "recover.heartbeat"
    worker = start_process(
        [
            sys.executable,
            *("-m", "new_services.orders", "recover"),
            *("--every", str(EVERY), "--older-than", str(OLDER_THAN), "--heartbeat", str(heartbeat)),
        ],
        log_path=shop.home / "recover.log",
        env=shop.env,
    )
    try:
        slack = 20.0  # process start and a loaded machine
        _wait_until_compensated(
            shop, [ids["k-a"], ids["k-b"]], worker, crashed_at + OLDER_THAN + EVERY + slack
        )
        took = time.monotonic() - crashed_at
        assert heartbeat.exists()
        worker.popen.send_signal(signal.SIGTERM)
        assert worker.popen.wait(timeout=15) == 0, worker.log()
    finally:
        worker.stop()
    assert took <= OLDER_THAN + EVERY + slack

    # all given back exactly once: B's unlogged reservation was replayed by the monolith, not taken again
    assert {p: shop.stock(p) for p in (1, 2, 3)} == before
    with shop.engine.connect() as connection:
        assert connection.execute(select(orders.c.status)).scalar_one() == OrderStatus.ABANDONED.value
    for key in ("k-a", "k-b"):
        _, reservations = shop.checkout(ids[key])
        assert {state for _, state in reservations} == {ReservationState.RELEASED.value}, (key, reservations)

    # a second run finds nothing and changes nothing, on either side
    snapshot = shop.snapshot()
    again = shop.recover("--older-than", "0")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("compensated 0 unfinished checkout(s)")
    assert shop.snapshot() == snapshot
    assert {p: shop.stock(p) for p in (1, 2, 3)} == before
