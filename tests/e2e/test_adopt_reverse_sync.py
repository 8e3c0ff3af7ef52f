"""docs/adopt.md, step 7, on a `django-admin startproject` site: a scaffolded service takes the write
route, and the reverse relay that `strangler up` starts from strangler.toml's ``[sync] reverse`` keeps the
monolith's table current.

The project declares ``[secrets.internal_token]`` (as `strangler init` writes it) and registers an
``Applier`` for the service's events in ``STRANGLER_SYNC_APPLIERS``; nothing else tells the stack about
the relay: a write through the front door on the service's route (a session signed in on the monolith,
resolved by the data plane with the provisioned token) reaches the monolith's ``things_thing`` table
through ``sync-reverse-things``, which posts to ``/internal/sync/apply`` with the same token.

The site's virtualenv has the toolkit from its wheel, as docs/adopt.md's step 1 installs it
(tests/e2e/conftest.py).
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import stat
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from migration_plan.ports import free_port_range
from migration_plan.toolbox.supervisor.sync_specs import HEALTH_PORTS
from tests.e2e.adopt_writes import APPLIER
from tests.e2e.test_adopt_walkthrough import STRANGLER_SETTINGS, _site
from tests.integration.supervisor.harness import StranglerUp, get, wait_until
from tests.support.net import free_port
from tests.support.wheel import InstalledToolkit, assert_runs_outside_the_checkout

pytestmark = [pytest.mark.integration]

# Sessions in the database: the walkthrough's site keeps them in a per-process cache, which the
# monolith's two gunicorn workers do not share (a session made by one is unknown to the other).
APPLIER_SETTINGS = """
STRANGLER_SYNC_APPLIERS = ["things.appliers.ThingApplier"]
SESSION_ENGINE = "django.contrib.sessions.backends.db"
"""
SYNC = """
[sync]
reverse = { things = "reverse:things" }
"""


def _run(folder: Path, *argv: str, env: dict[str, str]) -> str:
    """``argv`` in ``folder``, in ``env`` (the whole environment: the project's virtualenv's)."""
    done = subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=240, env=env, check=False)
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout}{done.stderr}"
    return done.stdout


class _Browser:
    """A client of the front door with a cookie jar (redirects followed)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, str]:
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def sign_in(self, username: str, password: str) -> None:
        status, page = self.request("GET", "/admin/login/", None, {})
        assert status == 200, page[:500]
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, page[:500]
        form = {"csrfmiddlewaretoken": match.group(1), "username": username, "password": password}
        body = urllib.parse.urlencode({**form, "next": "/admin/"}).encode()
        content = {"Content-Type": "application/x-www-form-urlencoded"}
        status, page = self.request("POST", "/admin/login/?next=/admin/", body, content)
        assert status == 200 and any(c.name == "sessionid" for c in self.jar), page[:500]


@pytest.mark.timeout(480)  # run alone, its setup builds and installs the wheel (1 to 2 min)
def test_a_service_write_reaches_the_monolith_through_the_relay_strangler_up_starts(
    tmp_path: Path, installed_toolkit: InstalledToolkit
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _site(site, installed_toolkit)
    strangler = str(installed_toolkit.bin / "strangler")
    python = str(installed_toolkit.bin / "python")
    home = tmp_path / "home"
    ports = {
        name: free_port()
        for name in (
            "STRANGLER_ADMIN_PORT",
            "STRANGLER_DATAPLANE_PORT",
            "STRANGLER_DATAPLANE_INTERNAL_PORT",
            "THINGS_PORT",
        )
    }
    env = {name: str(port) for name, port in ports.items()}
    env |= {"STRANGLER_HOME": str(home), "STRANGLER_DATAPLANE_WORKERS": "1", "STRANGLER_TOKEN": ""}
    for name in (
        "STRANGLER_STORE_URL",
        "STRANGLER_LEGACY_URL",
        "STRANGLER_CONFIG",
        "DATABASE_URL",
        "STRANGLER_INTERNAL_TOKEN",
        "STRANGLER_INTERNAL_TOKEN_FILE",
        "STRANGLER_LEGACY_INTERNAL_TOKEN",
        "STRANGLER_LEGACY_INTERNAL_TOKEN_FILE",
    ):
        env[name] = ""
    # the sync workers' health ports: the demo's range (unused here) and the relay's
    env["STRANGLER_SYNC_HEALTH_PORT"] = str(free_port_range(HEALTH_PORTS + 1))
    env = installed_toolkit.environ(env)
    legacy_port = free_port()
    _run(site, strangler, "init", "--port", str(legacy_port), "--no-check", env=env)
    project_file = site / "strangler.toml"
    assert "[secrets.internal_token]" in project_file.read_text(), "init declares the shared token"

    # strangler_django, the applier, the service, the reverse direction
    (site / "things" / "appliers.py").write_text(APPLIER)
    settings = site / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + STRANGLER_SETTINGS + APPLIER_SETTINGS)
    urls = site / "mysite" / "urls.py"
    urls.write_text(
        urls.read_text().replace(
            '    path("", include(router.urls)),\n',
            '    path("", include(router.urls)),\n    path("", include("strangler_django.urls")),\n',
        )
    )
    _run(site, python, "manage.py", "migrate", env=env)
    _run(
        site,
        python,
        "manage.py",
        "createsuperuser",
        "--noinput",
        "--username",
        "alice",
        "--email",
        "alice@example.org",
        env={**env, "DJANGO_SUPERUSER_PASSWORD": "alice-password"},
    )
    _run(site, strangler, "new-service", "things", "--route", "/api/things", env=env)
    text = project_file.read_text().replace('health = "/about/"', 'health = "/readyz"')
    project_file.write_text(text + SYNC)
    _run(site, strangler, "project", "check", env=env)

    up = StranglerUp.start(
        home, "--config", str(project_file), bin_dir=installed_toolkit.bin, cwd=site, environ=env
    )
    front = f"http://127.0.0.1:{ports['STRANGLER_DATAPLANE_PORT']}"
    monolith = f"http://127.0.0.1:{legacy_port}"
    try:
        up.wait_ready(timeout=240)
        processes = up.ps()
        assert "sync-reverse-things" in processes, processes
        assert_runs_outside_the_checkout([up.popen.pid, *(p["pid"] for p in processes.values() if p["pid"])])
        token_file = home / "secrets" / "internal_token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600, "generated at first start, the owner's only"
        # the monolith checks the token it was given: another one is refused
        apply = urllib.request.Request(
            f"{monolith}/internal/sync/apply",
            data=b'{"events": []}',
            method="POST",
            headers={"Authorization": "Bearer not-the-token", "Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(apply, timeout=10)
        assert refused.value.code == 401

        for step in (
            ("add", "things-write", "--path", "/api/things", "-r", "things: the write route, on legacy"),
            (
                "flip",
                "things-write",
                "new",
                "--upstream",
                "things",
                "--yes",
                "-r",
                "things: writes to the service",
            ),
        ):
            _run(site, strangler, "routes", *step, env=env)

        browser = _Browser(front)
        browser.sign_in("alice", "alice-password")
        payload = json.dumps({"name": "from the service"}).encode()
        status, body = browser.request("POST", "/api/things", payload, {"Content-Type": "application/json"})
        assert status == 201, body
        created = json.loads(body)

        def on_the_monolith() -> list[dict[str, object]]:
            status, listed = get(f"{monolith}/api/things", timeout=10)
            assert status == 200, listed
            return [row for row in json.loads(listed) if row["name"] == "from the service"]

        rows = wait_until(on_the_monolith, timeout=30, what="the service's write on the monolith's table")
        assert rows == [{"id": created["id"], "name": "from the service"}]
    finally:
        up.kill()
