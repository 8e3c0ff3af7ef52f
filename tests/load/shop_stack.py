"""A real, small LegacyShop stack on free ports: the monolith (gunicorn), the control plane and the
data plane in front of it, each in its own process group, all under one temporary home."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.net import free_port
from tests.support.processes import VENV_BIN, RunningProcess, run_manage, start_process

__all__ = ["ShopStack", "running_shop"]


@dataclass
class ShopStack:
    home: Path
    legacy_url: str
    admin_url: str
    front_door: str
    processes: dict[str, RunningProcess]

    @property
    def admin_env(self) -> dict[str, str]:
        return {"STRANGLER_HOME": str(self.home), "STRANGLER_ADMIN_URL": self.admin_url}

    def logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{p.log()[-3000:]}" for name, p in self.processes.items())


@contextmanager
def running_shop(root: Path, *, products: int = 60, customers: int = 20) -> Iterator[ShopStack]:
    home = root / "home"
    data_dir = home / "legacy"
    data_dir.mkdir(parents=True)
    legacy_port = free_port()
    legacy_env = {"LEGACYSHOP_DATA_DIR": str(data_dir), "LEGACYSHOP_PORT": str(legacy_port)}
    run_manage(["migrate", "--noinput", "-v", "0"], legacy_env, timeout=180)
    run_manage(
        ["seed", "--products", str(products), "--customers", str(customers), "--orders", "20"],
        legacy_env,
        timeout=180,
    )
    legacy_url = f"http://127.0.0.1:{legacy_port}"
    common = {"STRANGLER_HOME": str(home), "STRANGLER_LEGACY_URL": legacy_url}
    with ExitStack() as stack:
        processes: dict[str, RunningProcess] = {}

        def start(name: str, argv: list[str], env: dict[str, str], ready: str) -> None:
            process = start_process(argv, log_path=root / f"{name}.log", env=env, ready_url=ready)
            processes[name] = process
            stack.callback(process.stop)

        start(
            "legacy",
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                "legacy_monolith/gunicorn.conf.py",
                "legacy_monolith.wsgi:application",
            ],
            {**legacy_env, "LEGACYSHOP_LOG_LEVEL": "warning"},
            f"{legacy_url}/readyz",
        )
        admin_port = free_port()
        start(
            "controlplane",
            [sys.executable, "-m", "strangler_proxy.controlplane"],
            {**common, "STRANGLER_ADMIN_PORT": str(admin_port)},
            f"http://127.0.0.1:{admin_port}/readyz",
        )
        front_port, internal_port = free_port(), free_port()
        start(
            "dataplane",
            [sys.executable, "-m", "strangler_proxy.dataplane"],
            {
                **common,
                "STRANGLER_DATAPLANE_PORT": str(front_port),
                "STRANGLER_DATAPLANE_INTERNAL_PORT": str(internal_port),
                "STRANGLER_DATAPLANE_WORKERS": "1",
                "STRANGLER_ACCESS_LOG": "false",
            },
            f"http://127.0.0.1:{internal_port}/_strangler/readyz",
        )
        yield ShopStack(
            home=home,
            legacy_url=legacy_url,
            admin_url=f"http://127.0.0.1:{admin_port}",
            front_door=f"http://127.0.0.1:{front_port}",
            processes=processes,
        )
