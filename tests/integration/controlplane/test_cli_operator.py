"""The `strangler` CLI as an operator uses it, against a real control plane whose home is a project's
``.strangler``: found from any folder below strangler.toml, one token login, JSON output, exit codes,
--methods, confirmation of skipped stages, guards, and several changes applied as one version."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from migration_plan.cli.main import app as cli
from tests.integration.controlplane.conftest import ControlPlane, start_control_plane
from tests.support.net import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ControlPlane]]:
    root = tmp_path_factory.mktemp("project")
    (root / "strangler.toml").write_text("# project marker\n")
    (root / "deep" / "folder").mkdir(parents=True)
    plane = start_control_plane(
        root / ".strangler", root, STRANGLER_LEGACY_URL=f"http://127.0.0.1:{free_port()}"
    )
    try:
        yield root, plane
    finally:
        plane.process.stop()


def _cli(project: tuple[Path, ControlPlane], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    root, plane = project
    monkeypatch.chdir(root / "deep" / "folder")
    runner = CliRunner()
    env = {
        "STRANGLER_HOME": None,
        "STRANGLER_TOKEN": None,
        "STRANGLER_ADMIN_URL": plane.url,
        "COLUMNS": "200",
    }

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, list(args), env=env)  # type: ignore[arg-type]

    return run


def _audit(plane: ControlPlane, **params: str) -> list[dict]:
    with httpx2.Client(base_url=plane.url + "/api/v1", timeout=10) as client:
        token = json.loads((plane.home / "secrets" / "api_token.json").read_text())["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        return client.get("/audit", params={"limit": "500", **params}).json()["entries"]


def test_login_once_then_commands_from_any_folder_use_the_token(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root, plane = project
    run = _cli(project, monkeypatch)
    logged = run("login", "--scope", "admin", "--expires-in", "2h")
    assert logged.exit_code == 0, logged.output
    token_file = root / ".strangler" / "secrets" / "api_token.json"
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    stored = json.loads(token_file.read_text())
    assert stored["scope"] == "admin" and stored["token"].startswith("sft_")
    for _ in range(3):
        listed = run("routes", "list", "-o", "json")
        assert listed.exit_code == 0, listed.output
        assert json.loads(listed.output)["active"]["version"] >= 1
    logins = _audit(plane, action="login")
    assert len(logins) == 1 and logins[0]["evidence"]["via"] == "token"
    assert _audit(plane, action="token.create") == []
    shown = run("admin", "password")
    assert shown.exit_code == 0 and shown.output.strip() == plane.admin_password()


def test_methods_confirmation_exit_codes_and_guards(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _root, plane = project
    run = _cli(project, monkeypatch)
    assert run("routes", "register", "catalog", "http://127.0.0.1:18201").exit_code == 0
    added = run("routes", "add", "reads", "--path", "/catalog", "--methods", "get,head", "-r", "reads")
    assert added.exit_code == 0, added.output
    rule = next(
        r for r in json.loads(run("routes", "list", "-o", "json").output)["routes"] if r["route"] == "reads"
    )
    assert sorted(rule["match"]["methods"]) == ["GET", "HEAD"]

    skipped = run("routes", "flip", "reads", "new", "--upstream", "catalog", "-r", "straight to new")
    assert (
        skipped.exit_code == 2
        and "skipping shadow and canary" in skipped.output
        and "--yes" in skipped.output
    )
    still = json.loads(run("routes", "list", "-o", "json").output)
    assert next(r for r in still["routes"] if r["route"] == "reads")["mode"] == "legacy"
    flipped = run("routes", "flip", "reads", "new", "--upstream", "catalog", "-r", "sure", "--yes")
    assert flipped.exit_code == 0, flipped.output
    assert run("routes", "flip", "nope", "shadow", "-r", "x").exit_code == 6
    assert run("routes", "flip", "reads", "legacy", "-r", "x", "--expected-version", "1").exit_code == 5

    changed = run("guards", "set", "reads", "failing_windows=2", "max_error_rate=0.05")
    assert changed.exit_code == 0, changed.output
    guards = json.loads(run("guards", "list", "-o", "json").output)["guards"]
    settings = next(g for g in guards if g["route"] == "reads")["settings"]
    assert settings["failing_windows"] == 2 and settings["max_error_rate"] == 0.05
    assert run("guards", "reset", "reads").exit_code == 0
    guards = json.loads(run("guards", "list", "-o", "json").output)["guards"]
    assert next(g for g in guards if g["route"] == "reads")["settings"]["failing_windows"] == 5
    assert run("guards", "reset", "nope").exit_code == 6
    assert len(_audit(plane, action="guard.configure", target="reads")) == 2


def test_apply_publishes_several_changes_as_one_version(project, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _root, _plane = project
    run = _cli(project, monkeypatch)
    logged = run("login", "--scope", "admin", "--expires-in", "2h")  # the test before logs out
    assert logged.exit_code == 0, logged.output
    assert run("routes", "register", "orders", "http://127.0.0.1:18202").exit_code == 0
    before = json.loads(run("routes", "history", "-o", "json").output)["versions"][0]["version"]
    changes = tmp_path / "changes.yaml"
    changes.write_text(
        "reason: orders and carts in one go\n"
        "rules:\n"
        "  - {name: orders-api, match: {kind: prefix, path: /api/orders}}\n"
        "  - {name: carts, match: {kind: prefix, path: /carts, methods: [GET]}}\n"
        "flips:\n"
        "  - {route: orders-api, mode: shadow, upstream: orders}\n"
    )
    unconfirmed = run("routes", "apply", str(changes))
    assert unconfirmed.exit_code == 2 and "added orders-api" in unconfirmed.output, unconfirmed.output
    applied = run("routes", "apply", str(changes), "--yes")
    assert applied.exit_code == 0, applied.output
    versions = json.loads(run("routes", "history", "-o", "json").output)["versions"]
    assert versions[0]["version"] == before + 1 and versions[0]["reason"] == "orders and carts in one go"
    routes = {r["route"]: r for r in json.loads(run("routes", "list", "-o", "json").output)["routes"]}
    assert routes["orders-api"]["mode"] == "shadow" and routes["carts"]["mode"] == "legacy"
    again = run("routes", "apply", str(changes), "--yes")
    assert again.exit_code == 0 and "nothing to change" in again.output, again.output


def test_logout_revokes_the_token_and_a_password_reset_needs_a_new_login(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root, plane = project
    run = _cli(project, monkeypatch)
    token_file = root / ".strangler" / "secrets" / "api_token.json"
    assert run("routes", "list", "-o", "json").exit_code == 0
    token = json.loads(token_file.read_text())["token"]
    logged_out = run("logout")
    assert logged_out.exit_code == 0 and not token_file.exists(), logged_out.output
    refused = httpx2.get(plane.url + "/api/v1/routes", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401  # revoked on the server, not only forgotten here

    old_password = plane.admin_password()
    reset = run("admin", "password", "--reset")
    assert reset.exit_code == 0, reset.output
    assert plane.admin_password() == reset.output.strip() != old_password
    assert stat.S_IMODE(os.stat(root / ".strangler" / "secrets" / "admin_password").st_mode) == 0o600
    with_stdin = CliRunner().invoke(
        cli,
        ["login", "--password-stdin", "--scope", "viewer", "--expires-in", "1h"],
        input=plane.admin_password() + "\n",
        env={"STRANGLER_HOME": None, "STRANGLER_TOKEN": None, "STRANGLER_ADMIN_URL": plane.url},  # type: ignore[dict-item]
    )
    assert with_stdin.exit_code == 0, with_stdin.output
    assert json.loads(token_file.read_text())["scope"] == "viewer"
    assert run("routes", "panic", "-r", "a viewer token may not").exit_code == 4


def _shadow_settings(plane: ControlPlane, route: str) -> dict:
    with httpx2.Client(base_url=plane.url + "/api/v1", timeout=10) as client:
        token = json.loads((plane.home / "secrets" / "api_token.json").read_text())["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        return client.get(f"/routes/{route}").json()["rule"]["action"]["shadow"]


def test_mirror_unsafe_methods_on_add_and_flip(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A shadow mirrors the route's writes only when told: `routes add` and `routes flip` set it, a flip
    without the option keeps what the route has."""
    _root, plane = project
    run = _cli(project, monkeypatch)
    logged = run("login", "--scope", "admin", "--expires-in", "2h")  # the test before logs out
    assert logged.exit_code == 0, logged.output
    assert run("routes", "register", "orders", "http://127.0.0.1:18202").exit_code == 0
    mirrored = ("writes", "--path", "/orders", "--methods", "POST", "--mirror-unsafe-methods", "-r", "w")
    added = run("routes", "add", *mirrored)
    assert added.exit_code == 0, added.output
    assert _shadow_settings(plane, "writes")["mirror_unsafe_methods"] is True
    to_shadow = ("routes", "flip", "writes", "shadow", "--upstream", "orders")
    flipped = run(*to_shadow, "--no-mirror-unsafe-methods", "-r", "safe methods only")
    assert flipped.exit_code == 0, flipped.output
    assert _shadow_settings(plane, "writes")["mirror_unsafe_methods"] is False
    preview = run(*to_shadow, "--mirror-unsafe-methods", "--dry-run", "-r", "preview")
    assert preview.exit_code == 0 and "mirror_unsafe_methods" in preview.output, preview.output
    assert _shadow_settings(plane, "writes")["mirror_unsafe_methods"] is False, "a dry run changes nothing"
    flipped = run(*to_shadow, "--mirror-unsafe-methods", "-r", "mirror the writes")
    assert flipped.exit_code == 0, flipped.output
    assert _shadow_settings(plane, "writes")["mirror_unsafe_methods"] is True
    kept = run("routes", "flip", "writes", "canary", "--weight", "10", "-r", "kept", "--yes")
    assert kept.exit_code == 0, kept.output
    assert _shadow_settings(plane, "writes")["mirror_unsafe_methods"] is True, "a flip without it keeps it"
    plain = run("routes", "add", "plain", "--path", "/plain", "-r", "p")
    assert plain.exit_code == 0, plain.output
    assert _shadow_settings(plane, "plain")["mirror_unsafe_methods"] is False
