"""The control plane as its own process: first start, admin password file, login, 401/403/409 over HTTP,
and the `strangler routes` CLI against it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import pytest
from typer.testing import CliRunner

from migration_plan.cli.main import app as cli
from tests.integration.controlplane.conftest import ControlPlane

pytestmark = pytest.mark.integration


@contextmanager
def _admin_session(plane: ControlPlane) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=plane.url + "/api/v1", timeout=10) as client:
        response = client.post("/session", json={"username": "admin", "password": plane.admin_password()})
        assert response.status_code == 200, response.text
        yield client


def test_first_start_creates_admin_password_file_0600(control_plane: ControlPlane) -> None:
    path = control_plane.home / "secrets" / "admin_password"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert len(control_plane.admin_password()) >= 20
    assert httpx2.get(control_plane.url + "/healthz").json() == {"status": "ok"}


def test_real_process_answers_401_403_409(control_plane: ControlPlane) -> None:
    anonymous = httpx2.get(control_plane.url + "/api/v1/versions")
    assert anonymous.status_code == 401
    with _admin_session(control_plane) as admin:
        created = admin.post(
            "/users", json={"username": "vera", "password": "viewer password 1", "role": "viewer"}
        )
        assert created.status_code in (201, 409)
        active = admin.get("/versions/active").json()
        stale = admin.post(
            "/versions",
            json={"table": active["table"], "expected_version": active["version"] + 100, "reason": "x"},
        )
        assert stale.status_code == 409 and stale.json()["active_version"] == active["version"]
        with httpx2.Client(base_url=control_plane.url + "/api/v1") as viewer:
            assert viewer.post(
                "/session", json={"username": "vera", "password": "viewer password 1"}
            ).is_success
            assert viewer.post("/panic", json={"reason": "viewer"}).status_code == 403
        denied = admin.get("/audit/denials", params={"action": "auth"}).json()["denials"]
        assert {"anonymous", "vera"} <= {e["actor"] for e in denied}


def test_cli_flips_rolls_back_and_lists(control_plane: ControlPlane) -> None:
    runner = CliRunner()
    env = {**control_plane.env, "STRANGLER_TOKEN": "", "COLUMNS": "200"}

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["routes", *args], env=env)

    registered = run("register", "catalog", "http://127.0.0.1:18201")
    assert registered.exit_code == 0 and "upstream catalog" in registered.output, registered.output
    refused = run("register", "meta", "http://169.254.169.254:80")
    assert refused.exit_code == 1 and "link-local" in refused.output
    health = run("upstreams")
    assert health.exit_code == 0 and "catalog" in health.output and "down" in health.output, health.output

    added = run("add", "catalog", "--path", "/catalog", "--reason", "take over the catalog")
    assert added.exit_code == 0, added.output
    flipped = run(
        "flip", "catalog", "canary", "--weight", "50", "--upstream", "catalog", "-r", "half", "--yes"
    )
    assert flipped.exit_code == 0 and "active version" in flipped.output, flipped.output
    listed = run("list")
    assert listed.exit_code == 0 and "canary 50%" in listed.output, listed.output
    refused = run("flip", "catalog", "new", "--upstream", "nowhere", "-r", "typo")
    assert refused.exit_code == 6 and "nowhere" in refused.output  # not found
    stale = run("flip", "catalog", "new", "-r", "late", "--expected-version", "1")
    assert stale.exit_code == 5 and "conflict (409)" in stale.output
    back = run("rollback", "catalog", "--to", "legacy", "-r", "enough")
    assert back.exit_code == 0, back.output
    history = run("history")
    assert history.exit_code == 0 and "enough" in history.output
    diff = run("diff", "1", "2")
    assert diff.exit_code == 0 and "added catalog" in diff.output
    bad_token = runner.invoke(cli, ["routes", "list"], env={**env, "STRANGLER_TOKEN": "sft_nope"})
    assert bad_token.exit_code == 4 and "not authenticated (401)" in bad_token.output


def test_cli_reports_an_unreachable_control_plane(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.support.net import free_port

    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(cli, ["routes", "list", "--url", url, "--token", "sft_x"])
    assert result.exit_code == 3  # unreachable
    assert f"control plane not reachable at {url}" in result.output and "make run" in result.output
