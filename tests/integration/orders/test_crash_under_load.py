"""The orders service killed (SIGKILL, master and workers) during checkouts under load, then restarted,
with the recovery worker running: afterwards no stock is oversold, every order a client was told about
exists, and no reservation is left behind (the invariants of the ``orders-crash`` drill).

Real processes: the monolith and the orders service under gunicorn, the worker as
``python -m new_services.orders recover --every``; the load is checkouts with an ``Idempotency-Key`` each
(the cart in the body, the service's extension, so that no session is needed).
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from acl.identity_verifier import IDENTITY_HEADER, CustomerIdentity, IdentityVerifier, load_identity_key
from new_services.kit.engine import make_engine
from new_services.orders.adapters.tables import checkout_reservations, checkouts, order_lines, orders
from tests.support.legacy_shop import prepare_legacy_shop, start_legacy_shop
from tests.support.net import free_port
from tests.support.processes import ROOT, VENV_BIN, RunningProcess, start_process

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("orders_crash_under_load")]

DEMO = CustomerIdentity(user_id=1, username="demo", name="Demo Customer")
CSRF = "c" * 32
STAFF_PASSWORD = "staff-password-123"
PRODUCTS = {1: 12, 2: 40, 3: 40}  # product 1 runs out: refusals must not oversell it
EVERY, OLDER_THAN = 0.5, 2.0


@dataclass
class Attempt:
    key: str
    cart: dict[int, int]
    status: int | None  # None: no answer (the service died under it)
    order_no: str | None


@dataclass
class Stack:
    legacy_url: str
    orders_port: int
    orders_env: dict[str, str]
    home: Path
    verifier: IdentityVerifier

    @property
    def orders_url(self) -> str:
        return f"http://127.0.0.1:{self.orders_port}"

    def start_orders(self) -> RunningProcess:
        return start_process(
            [
                str(VENV_BIN / "gunicorn"),
                *("-c", "new_services/orders/gunicorn.conf.py", "new_services.orders.entrypoints.wsgi:app"),
            ],
            log_path=self.home / "orders.log",
            env=self.orders_env,
            ready_url=f"{self.orders_url}/readyz",
        )

    def headers(self) -> dict[str, str]:
        return {
            IDENTITY_HEADER: self.verifier.sign(DEMO, ttl=600),
            "Cookie": f"csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
            "Content-Type": "application/json",
        }

    def stock(self, product_id: int) -> int:
        with urllib.request.urlopen(f"{self.legacy_url}/api/products/{product_id}", timeout=10) as answer:
            return int(json.loads(answer.read())["stock"])


def _staff_set_stock(legacy_url: str, product_id: int, quantity: int) -> None:
    request = urllib.request.Request(
        f"{legacy_url}/api/products/{product_id}/stock",
        data=json.dumps({"quantity": quantity}).encode(),
        headers={
            "Authorization": "Basic " + base64.b64encode(f"staff:{STAFF_PASSWORD}".encode()).decode(),
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    legacy_dir = tmp_path_factory.mktemp("legacy")
    home = tmp_path_factory.mktemp("strangler_home")
    monolith = prepare_legacy_shop(
        legacy_dir, seed=["--products", "10", "--customers", "2", "--orders", "0", "--seed", "7"], workers=2
    )
    legacy_port = monolith.port
    legacy = start_legacy_shop(monolith)
    legacy_url = f"http://127.0.0.1:{legacy_port}"
    try:
        for product_id, quantity in PRODUCTS.items():
            _staff_set_stock(legacy_url, product_id, quantity)
        orders_port = free_port()
        orders_env = {
            "STRANGLER_HOME": str(home),
            "ORDERS_PORT": str(orders_port),
            "ORDERS_WORKERS": "2",
            "STRANGLER_LEGACY_URL": legacy_url,
            # as a service: the monolith's scoped token for the orders service (written at its start)
            "ORDERS_LEGACY_SERVICE_TOKEN_FILE": str(legacy_dir / "service_tokens" / "orders"),
            "ORDERS_CART_IN_BODY": "true",
        }
        yield Stack(legacy_url, orders_port, orders_env, home, IdentityVerifier(load_identity_key(home)))
    finally:
        legacy.stop()


def _checkout(stack: Stack, key: str, cart: dict[int, int]) -> Attempt:
    body = json.dumps({"items": [{"product_id": p, "quantity": q} for p, q in cart.items()]}).encode()
    request = urllib.request.Request(
        f"{stack.orders_url}/api/orders", data=body, headers={**stack.headers(), "Idempotency-Key": key}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return Attempt(key, cart, answer.status, json.loads(answer.read())["order_no"])
    except urllib.error.HTTPError as exc:
        return Attempt(key, cart, exc.code, None)
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError):
        return Attempt(key, cart, None, None)


def _load(stack: Stack, stop: threading.Event, ledger: list[Attempt], seed: int) -> None:
    rng = random.Random(seed)
    for n in itertools.count():
        if stop.is_set():
            return
        cart = {p: rng.randint(1, 2) for p in rng.sample(sorted(PRODUCTS), rng.randint(1, 2))}
        ledger.append(_checkout(stack, f"load-{seed}-{n}", cart))


def test_killing_the_orders_service_during_checkouts_loses_nothing_and_leaves_nothing(stack: Stack) -> None:
    service = stack.start_orders()
    ledger: list[Attempt] = []
    stop = threading.Event()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            runners = [pool.submit(_load, stack, stop, ledger, seed) for seed in range(4)]
            deadline = time.monotonic() + 60
            while sum(1 for a in ledger if a.status == 201) < 5:  # the load is really flowing
                assert time.monotonic() < deadline and service.alive(), service.log()
                time.sleep(0.05)
            os.killpg(service.pid, signal.SIGKILL)  # master and workers, in the middle of checkouts
            service.popen.wait(timeout=10)
            killed_at = time.monotonic()
            while not any(a.status is None for a in ledger) and time.monotonic() < killed_at + 5:
                time.sleep(0.05)
            stop.set()
            for runner in runners:
                runner.result(timeout=60)
    finally:
        stop.set()
        service.stop()

    service = stack.start_orders()  # back, as a supervisor would start it
    worker = start_process(
        [
            sys.executable,
            "-m",
            "new_services.orders",
            "recover",
            "--every",
            str(EVERY),
            "--older-than",
            str(OLDER_THAN),
        ],
        log_path=stack.home / "recover.log",
        env=stack.orders_env,
    )
    engine = make_engine(f"sqlite:///{stack.home / 'services' / 'orders' / 'orders.sqlite3'}")
    try:
        holding = ("reserving", "reserved", "in_doubt")

        def left_behind() -> list[tuple]:
            with engine.connect() as connection:
                unfinished = connection.execute(
                    select(checkouts.c.id, checkouts.c.status).where(
                        checkouts.c.status.not_in(["confirmed", "compensated"])
                    )
                ).all()
                held = connection.execute(
                    select(checkout_reservations.c.checkout_id, checkout_reservations.c.state)
                    .join(checkouts, checkouts.c.id == checkout_reservations.c.checkout_id)
                    .where((checkouts.c.status == "compensated") & checkout_reservations.c.state.in_(holding))
                ).all()
            return [*unfinished, *held]

        bound = killed_at + OLDER_THAN + EVERY + 30  # + process starts on a loaded machine
        while left_behind() and time.monotonic() < bound:
            assert worker.alive(), worker.log()
            time.sleep(0.1)  # polling the database for the worker's result
        assert left_behind() == [], worker.log()

        with engine.connect() as connection:
            rows = connection.execute(select(orders.c.order_no, orders.c.status)).all()
            recovered = connection.execute(
                select(checkouts.c.id).where(checkouts.c.outcome.like("%interrupted%"))
            ).all()
        confirmed = {row.order_no for row in rows if row.status == "new"}
        assert not [row for row in rows if row.status == "pending"]

        # no order a client was told about is missing, on the restarted service
        acknowledged = [a for a in ledger if a.status == 201]
        assert acknowledged and {a.order_no for a in acknowledged} <= confirmed
        for attempt in acknowledged[:: max(1, len(acknowledged) // 10)]:
            request = urllib.request.Request(
                f"{stack.orders_url}/api/orders/{attempt.order_no}", headers=stack.headers()
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 200

        # stock: exactly what the confirmed orders took (none oversold, nothing held by a dead checkout)
        taken = dict.fromkeys(PRODUCTS, 0)
        with engine.connect() as connection:
            for line in connection.execute(
                select(order_lines.c.product_id, order_lines.c.quantity)
                .join(orders, orders.c.id == order_lines.c.order_id)
                .where(orders.c.status == "new")
            ):
                taken[line.product_id] += line.quantity
        for product_id, initial in PRODUCTS.items():
            assert stack.stock(product_id) == initial - taken[product_id] >= 0, product_id
        print(
            f"attempts={len(ledger)} acknowledged={len(acknowledged)} "
            f"unanswered={sum(1 for a in ledger if a.status is None)} recovered={len(recovered)}"
        )

        # a second recovery run changes nothing
        again = subprocess.run(
            [sys.executable, "-m", "new_services.orders", "recover", "--older-than", "0"],
            cwd=ROOT,
            env={**os.environ, **stack.orders_env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 0 and again.stdout.startswith("compensated 0 "), again
    finally:
        engine.dispose()
        worker.stop()
        service.stop()
