"""Latency of the orders service against a real monolith.

``python -m tests.integration.orders.bench_checkout`` starts the monolith (1 worker, 50 seeded
products) and the orders service (2 workers) on free ports, then times sequential requests: 60
two-line checkouts, 60 shadow checkouts, 100 history pages. Not collected by pytest (a figure).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from acl.identity_verifier import IDENTITY_HEADER, CustomerIdentity, IdentityVerifier, load_identity_key
from tests.support.net import free_port
from tests.support.processes import ROOT, VENV_BIN, start_process

CSRF = "c" * 32


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))] * 1000


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="orders-bench-"))
    legacy_port, orders_port = free_port(), free_port()
    (tmp / "legacy").mkdir()
    legacy_env = {
        "LEGACYSHOP_DATA_DIR": str(tmp / "legacy"),
        "LEGACYSHOP_PORT": str(legacy_port),
        "LEGACYSHOP_WORKERS": "1",
        "DATABASE_URL": f"sqlite:///{tmp / 'legacy' / 'legacy.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "legacy_monolith.legacyshop.settings",
    }
    for args in (
        ["migrate", "--noinput", "-v", "0"],
        ["seed", "--products", "50", "--customers", "2", "--orders", "1"],
    ):
        subprocess.run(
            [sys.executable, "-m", "legacy_monolith.manage", *args],
            cwd=ROOT,
            env={**os.environ, **legacy_env},
            check=True,
            capture_output=True,
        )
    legacy_url, orders_url = f"http://127.0.0.1:{legacy_port}", f"http://127.0.0.1:{orders_port}"
    legacy = start_process(
        [
            str(VENV_BIN / "gunicorn"),
            "-c",
            "legacy_monolith/gunicorn.conf.py",
            "legacy_monolith.wsgi:application",
        ],
        log_path=tmp / "legacy.log",
        env=legacy_env,
        ready_url=f"{legacy_url}/readyz",
    )
    verifier = IdentityVerifier(load_identity_key(tmp / "home"))
    orders_env = {
        "STRANGLER_HOME": str(tmp / "home"),
        "ORDERS_PORT": str(orders_port),
        "ORDERS_LOG_LEVEL": "WARNING",
        "STRANGLER_LEGACY_URL": legacy_url,
        # as a service: the monolith's scoped token for the orders service (written at its start)
        "ORDERS_LEGACY_SERVICE_TOKEN_FILE": str(tmp / "legacy" / "service_tokens" / "orders"),
        "ORDERS_CART_IN_BODY": "true",  # these checkouts send their cart in the body (the extension)
    }
    orders = start_process(
        [
            str(VENV_BIN / "gunicorn"),
            "-c",
            "new_services/orders/gunicorn.conf.py",
            "new_services.orders.entrypoints.wsgi:app",
        ],
        log_path=tmp / "orders.log",
        env=orders_env,
        ready_url=f"{orders_url}/readyz",
    )

    def headers() -> dict[str, str]:
        return {
            IDENTITY_HEADER: verifier.sign(CustomerIdentity(1, "demo", "Demo"), ttl=60),
            "Cookie": f"csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
            "Content-Type": "application/json",
        }

    def timed(method: str, url: str, body: object = None, extra: dict[str, str] | None = None) -> float:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            url, data=data, method=method, headers={**headers(), **(extra or {})}
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        return time.perf_counter() - started

    try:
        page = f"{legacy_url}/api/products?status=active&page_size=100"
        with urllib.request.urlopen(page) as response:
            active = [product["id"] for product in json.load(response)["results"]][:20]
        staff = {"Authorization": "Basic " + base64.b64encode(b"staff:staff-password-123").decode()}
        for product_id in active:
            url = f"{legacy_url}/api/products/{product_id}/stock"
            request = urllib.request.Request(
                url,
                data=b'{"quantity": 1000}',
                method="POST",
                headers={**staff, "Content-Type": "application/json"},
            )
            urllib.request.urlopen(request).read()
        cart = {
            "items": [{"product_id": active[0], "quantity": 1}, {"product_id": active[10], "quantity": 1}]
        }
        timed("POST", f"{orders_url}/api/orders", cart)  # warm-up: the workers log in to the monolith
        real = [
            timed(
                "POST",
                f"{orders_url}/api/orders",
                {
                    "items": [
                        {"product_id": active[i % 10], "quantity": 1},
                        {"product_id": active[10 + i % 10], "quantity": 1},
                    ]
                },
            )
            for i in range(60)
        ]
        shadow = [
            timed("POST", f"{orders_url}/api/orders", cart, {"X-Strangler-Shadow": "1"}) for _ in range(60)
        ]
        history = [timed("GET", f"{orders_url}/api/orders") for _ in range(100)]
        for name, values in (
            ("checkout_2_lines", real),
            ("shadow_checkout", shadow),
            ("history_page", history),
        ):
            print(f"{name}_ms: p50 {_percentile(values, 0.5):.1f}, p95 {_percentile(values, 0.95):.1f}")
    finally:
        orders.stop()
        legacy.stop()


if __name__ == "__main__":
    main()
