"""A seeded LegacyShop for integration and contract tests: migrated and seeded on SQLite in a folder of
its own, then served by gunicorn (``legacy_monolith/gunicorn.conf.py``) on a free port.

    shop = prepare_legacy_shop(tmp / "legacy", seed=["--products", "10", "--seed", "7"], workers=2)
    legacy = start_legacy_shop(shop)        # ready: /readyz answered
    ...
    legacy.stop()

The two steps are apart so that a test can read the seeded database (a backfill) before the monolith
serves it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.net import free_port
from tests.support.processes import ROOT, VENV_BIN, RunningProcess, start_process

__all__ = ["LegacyShop", "prepare_legacy_shop", "start_legacy_shop"]


@dataclass(frozen=True)
class LegacyShop:
    """A migrated and seeded LegacyShop, not yet served: where it lives and how it is configured."""

    folder: Path
    port: int
    env: dict[str, str]
    """The monolith's environment (data folder, port, workers, database, settings module)."""
    seeded: str
    """What ``manage.py seed`` printed."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]


def prepare_legacy_shop(
    folder: Path, *, seed: Sequence[str], workers: int = 1, database_url: str | None = None
) -> LegacyShop:
    """Migrate and seed (``manage.py seed SEED``) a LegacyShop whose data live in ``folder`` (created
    when missing), its database the SQLite file there unless ``database_url`` names another, on a free
    port; a clear error with its output when either fails."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        "LEGACYSHOP_DATA_DIR": str(folder),
        "LEGACYSHOP_PORT": str(port),
        "LEGACYSHOP_WORKERS": str(workers),
        "DATABASE_URL": database_url or f"sqlite:///{folder / 'legacy.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "legacy_monolith.legacyshop.settings",
    }
    _manage(["migrate", "--noinput", "-v", "0"], env)
    seeded = _manage(["seed", *seed], env)
    return LegacyShop(folder, port, env, seeded)


def start_legacy_shop(shop: LegacyShop) -> RunningProcess:
    """Serve ``shop`` under gunicorn, logging to ``gunicorn.log`` in its folder; returns once ready."""
    return start_process(
        [
            str(VENV_BIN / "gunicorn"),
            "-c",
            "legacy_monolith/gunicorn.conf.py",
            "legacy_monolith.wsgi:application",
        ],
        log_path=shop.folder / "gunicorn.log",
        env=shop.env,
        ready_url=f"{shop.url}/readyz",
    )


def _manage(args: Sequence[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "legacy_monolith.manage", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout
