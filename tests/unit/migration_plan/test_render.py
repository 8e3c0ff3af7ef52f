"""What `strangler up` and `strangler ps` print."""

import io
import os
import time
from pathlib import Path

import pytest
from rich.console import Console

from migration_plan.toolbox.supervisor.render import (
    admin_password_notice,
    format_uptime,
    ps_table,
    urls_table,
)
from migration_plan.toolbox.supervisor.spec import ProcessSpec

pytestmark = pytest.mark.unit


def rendered(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_password_is_shown_only_when_created_by_this_run(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "admin_password"
    assert "not created yet" in admin_password_notice(path, run_started=time.time())
    path.parent.mkdir()
    path.write_text("s3cret-value\n")
    fresh = admin_password_notice(path, run_started=time.time() - 5)
    assert "s3cret-value" in fresh and str(path) in fresh
    old = time.time() - 3600
    os.utime(path, (old, old))
    later = admin_password_notice(path, run_started=time.time())
    assert "s3cret-value" not in later and str(path) in later
    assert admin_password_notice(None, run_started=0) is None


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "-"), (0, "0:00"), (75.9, "1:15"), (3 * 3600 + 62, "3:01:02")]
)
def test_uptime_is_human(seconds: float | None, text: str) -> None:
    assert format_uptime(seconds) == text


def test_url_table_lists_processes_with_a_url() -> None:
    specs = [
        ProcessSpec(
            name="dataplane", argv=("x",), url="http://127.0.0.1:8000/", label="shop, through the front door"
        ),
        ProcessSpec(name="worker", argv=("x",)),
    ]
    text = rendered(urls_table(specs))
    assert "shop, through the front door" in text and "http://127.0.0.1:8000/" in text
    assert "worker" not in text


def test_ps_table_shows_every_column() -> None:
    text = rendered(
        ps_table(
            [
                {
                    "name": "legacy",
                    "pid": 4242,
                    "state": "running",
                    "restarts": 3,
                    "uptime": 61,
                    "health": "ok",
                    "port": 8100,
                    "url": None,
                },
                {
                    "name": "orders",
                    "pid": None,
                    "state": "stopped",
                    "restarts": 0,
                    "uptime": None,
                    "health": None,
                    "port": None,
                    "url": None,
                },
            ]
        )
    )
    legacy = next(line for line in text.splitlines() if "legacy" in line).split()
    assert [cell for cell in legacy if cell not in "│┃"] == [
        "legacy",
        "4242",
        "running",
        "3",
        "1:01",
        "ok",
        "8100",
    ]
    orders = next(line for line in text.splitlines() if "orders" in line).split()
    assert [cell for cell in orders if cell not in "│┃"] == ["orders", "-", "stopped", "0", "-", "-", "-"]
