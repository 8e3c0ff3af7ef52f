"""The control plane as a process reading the sync database named by STRANGLER_SYNC_DATABASE_URL:
the lag over HTTP, and `strangler routes rollback` refused while the reverse sync is not drained,
then forced."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from sqlalchemy import create_engine
from typer.testing import CliRunner

from acl.sync.core.lag import DirectionLag, store_lag
from acl.sync.core.tables import sync_lag, sync_metadata
from migration_plan.cli.main import app as cli
from tests.integration.controlplane.conftest import start_control_plane
from tests.support.net import free_port

pytestmark = pytest.mark.integration


def test_cli_rollback_waits_refuses_then_forces(tmp_path: Path) -> None:
    sync_url = f"sqlite:///{tmp_path / 'elsewhere' / 'sync.sqlite3'}"
    (tmp_path / "elsewhere").mkdir()
    engine = create_engine(sync_url)
    sync_metadata.create_all(engine, tables=[sync_lag])

    def relays_report() -> None:
        """The relays' latest figures: a handover trusts only fresh ones (older than 5 s is unknown)."""
        store_lag(engine, [DirectionLag("forward", 0.0, 0, None), DirectionLag("reverse", 800.0, 3, None)])

    relays_report()
    plane = start_control_plane(
        tmp_path / "home",
        tmp_path,
        STRANGLER_LEGACY_URL=f"http://127.0.0.1:{free_port()}",
        STRANGLER_SYNC_DATABASE_URL=sync_url,
    )
    try:
        env = {**plane.env, "STRANGLER_TOKEN": "", "COLUMNS": "200"}

        def run(*args: str):  # type: ignore[no-untyped-def]
            relays_report()
            return CliRunner().invoke(cli, ["routes", *args], env=env)

        assert run("register", "catalog", "http://127.0.0.1:18201").exit_code == 0
        assert run("add", "catalog", "--path", "/catalog", "--reason", "extract").exit_code == 0
        flipped = run("flip", "catalog", "new", "--upstream", "catalog", "-r", "go", "--yes")
        assert flipped.exit_code == 0, flipped.output

        with httpx2.Client(base_url=plane.url + "/api/v1", timeout=10) as admin:
            login = admin.post("/session", json={"username": "admin", "password": plane.admin_password()})
            assert login.status_code == 200, login.text
            lag = admin.get("/sync/lag").json()
            assert lag["reverse"]["backlog"] == 3 and lag["forward"]["backlog"] == 0
            active = admin.get("/versions/active").json()["version"]

            refused = run("rollback", "catalog", "--to", "legacy", "-r", "errors", "--drain-timeout", "0.3")
            assert refused.exit_code == 5, refused.output  # 409 sync_not_drained: conflict
            assert "reverse sync backlog is 3 events" in refused.output
            assert admin.get("/versions/active").json()["version"] == active

            forced = run(
                "rollback", "catalog", "--to", "legacy", "-r", "errors", "--drain-timeout", "0", "--force"
            )
            assert forced.exit_code == 0, forced.output
            # the refused handover's fence, then the forced one's fence and its change
            assert admin.get("/versions/active").json()["version"] == active + 3
            entry = admin.get("/audit", params={"action": "rollback", "outcome": "ok"}).json()["entries"][0]
            assert entry["evidence"]["reverse_sync_backlogs"] == {"reverse": 3}
            assert entry["evidence"]["reverse_sync_backlog"] == 3 and entry["evidence"]["forced"] is True
            assert entry["evidence"]["handover"]["fenced"] is True

            # Back on new, then the whole table back to the version before: writes leave the catalog.
            flipped_again = run("flip", "catalog", "new", "--upstream", "catalog", "-r", "again", "--yes")
            assert flipped_again.exit_code == 0, flipped_again.output
            again = admin.get("/versions/active").json()["version"]
            whole = run("rollback", "-r", "undo", "--drain-timeout", "0.3")
            assert whole.exit_code == 5 and "reverse sync backlog is 3 events" in whole.output
            assert admin.get("/versions/active").json()["version"] == again
            forced_whole = run("rollback", "-r", "undo", "--drain-timeout", "0", "--force")
            assert forced_whole.exit_code == 0, forced_whole.output
            # the pointer moved back to the version before the flip (never to a fence)
            assert admin.get("/versions/active").json()["version"] == active + 3
    finally:
        plane.process.stop()
        engine.dispose()
