"""Finding 8: hardening. A strict CSP the templates keep (no inline handler or style), no-store on
pages, API answers and secrets, the store, secrets and logs readable by their owner only, and no shadow
rule that would keep end users' cookies or credentials in the mismatches every viewer reads. (Secure and
__Host- cookies: test_sessions.py; the user-name alphabet: test_login_throttle.py.)"""

from __future__ import annotations

import os
import re
import stat
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from migration_plan.toolbox.supervisor.output import LogSink, ProcessLog
from strangler_proxy.dataplane.shadow import ResponseSnapshot, compare_responses
from strangler_proxy.routes import LEGACY, RouteTable, ShadowSettings, Upstream, table_problems
from tests.integration.controlplane.conftest import start_control_plane
from tests.support.net import free_port
from tests.unit.controlplane.conftest import Api

TEMPLATES = Path(__file__).resolve().parents[2] / "strangler_proxy" / "controlplane" / "ui" / "templates"
PAGES = ("/", "/history", "/audit", "/audit/denials", "/shadow", "/upstreams")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.unit
def test_the_policy_allows_no_inline_script_or_style_and_the_templates_need_none(api: Api) -> None:
    header = api.client.get("/login").headers["content-security-policy"]
    policy = dict(part.split(" ", 1) for part in header.split("; "))
    assert policy.get("script-src") == "'self'" and policy.get("style-src") == "'self'", header
    assert policy.get("object-src") == "'none'" and policy.get("frame-ancestors") == "'none'", header
    assert policy.get("default-src") == "'self'" and "unsafe" not in header, header
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"\son[a-z]+\s*=", text), f"{template.name} has an inline event handler"
        assert not re.search(r"\sstyle\s*=", text), f"{template.name} has a style attribute"
        assert not re.search(r"<script(?![^>]*\ssrc=)", text), f"{template.name} has an inline script"
        assert "<style" not in text, f"{template.name} has a style element"


@pytest.mark.unit
def test_pages_api_answers_and_secrets_are_never_cached_and_carry_the_policy(api: Api) -> None:
    for path in (*PAGES, "/api/v1/routes", "/api/v1/session"):
        response = api.client.get(path, headers=api.headers("viewer"))
        assert response.status_code == 200, path
        assert response.headers.get("cache-control") == "no-store", path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
    minted = api.client.post("/api/v1/tokens", json={"name": "x"}, headers=api.headers("viewer"))
    assert minted.status_code == 201 and minted.headers["cache-control"] == "no-store"
    static = api.client.get("/static/admin.js")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (022) for the test, and whatever the process had afterwards."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.unit
def test_the_home_its_store_logs_and_secrets_become_private(tmp_path: Path, open_umask: None) -> None:
    from strangler_proxy.secrets import keep_private

    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    (home / "secrets").mkdir()
    for path in (home / "store.sqlite3", home / "store.sqlite3-wal", home / "logs" / "legacy.log"):
        path.write_text("x")
        path.chmod(0o644)
    home.chmod(0o755)
    elsewhere = tmp_path / "other.sqlite3"
    elsewhere.write_text("x")
    try:
        keep_private(home, files=(elsewhere,))
        created = home / "logs" / "later.log"
        created.write_text("x")
    finally:
        os.umask(0o022)
    assert _mode(home) == 0o700 and _mode(home / "logs") == 0o700 and _mode(home / "secrets") == 0o700
    for path in (home / "store.sqlite3", home / "store.sqlite3-wal", home / "logs" / "legacy.log", elsewhere):
        assert _mode(path) == 0o600, path
    assert _mode(created) == 0o600, "files made afterwards are private too (umask 077)"


@pytest.mark.unit
def test_the_supervisors_logs_are_private(tmp_path: Path, open_umask: None) -> None:
    log = ProcessLog("legacy", LogSink(open(os.devnull, "w"), ["legacy"], colour=False), tmp_path / "logs")  # noqa: SIM115
    log.open()
    log.write("a line")
    log.close()
    assert _mode(tmp_path / "logs") == 0o700 and _mode(tmp_path / "logs" / "legacy.log") == 0o600


@pytest.mark.integration
def test_a_control_plane_keeps_its_store_and_secrets_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    plane = start_control_plane(home, tmp_path, STRANGLER_LEGACY_URL=f"http://127.0.0.1:{free_port()}")
    try:
        with urllib.request.urlopen(plane.url + "/readyz", timeout=10) as response:
            assert response.status == 200
        assert _mode(home) == 0o700
        assert _mode(home / "store.sqlite3") == 0o600
        assert _mode(home / "secrets") == 0o700
        for secret in (home / "secrets").iterdir():
            assert _mode(secret) == 0o600, secret
    finally:
        plane.process.stop()


@pytest.mark.unit
@pytest.mark.parametrize("header", ["set-cookie", "Authorization", "cookie", "proxy-authorization"])
def test_no_rule_may_compare_credentials_in_the_shadow(header: str, api: Api) -> None:
    rule = {
        "name": "catalog",
        "match": {"path": "/catalog"},
        "action": {
            "mode": "shadow",
            "upstream": "legacy",
            "shadow": {"compare_headers": ["content-type", header]},
        },
    }
    problems = table_problems(
        RouteTable.model_validate(
            {"upstreams": {LEGACY: Upstream(name=LEGACY, url="http://127.0.0.1:8100")}, "rules": [rule]}
        )
    )
    assert any("compare_headers may not name" in p for p in problems)
    response = api.post("/routes", {"rule": rule, "reason": "shadow with cookies"})
    assert response.status_code == 422 and "compare_headers" in response.text


@pytest.mark.unit
def test_the_shadow_process_never_keeps_credentials_of_an_older_table() -> None:
    legacy = ResponseSnapshot(200, [(b"set-cookie", b"sessionid=alice-secret")], b"{}")
    new = ResponseSnapshot(200, [(b"set-cookie", b"sessionid=bob-secret")], b"{}")
    result = compare_responses(ShadowSettings(compare_headers=("set-cookie",)), legacy, new)
    assert result.equal and "secret" not in result.diff
