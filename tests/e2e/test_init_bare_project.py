"""`strangler init` then `strangler up` on a bare `django-admin startproject` site with one view, with no
edit by hand: the file is written, the monolith is checked, its route listed, and the stack serves the
view through the data plane. Re-running init keeps the user's edits unless --force."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.supervisor.harness import VENV_BIN, StranglerUp, get
from tests.support.net import free_port

pytestmark = pytest.mark.integration

VIEW = 'from django.http import HttpResponse\n\n\ndef hello(request):\n    return HttpResponse("hello")\n'


def _bare_site(folder: Path) -> None:
    subprocess.run([str(VENV_BIN / "django-admin"), "startproject", "mysite", str(folder)], check=True)
    (folder / "mysite" / "views.py").write_text(VIEW, encoding="utf-8")
    urls = folder / "mysite" / "urls.py"
    text = urls.read_text(encoding="utf-8").replace(
        "from django.urls import path", "from django.urls import path\n\nfrom mysite.views import hello"
    )
    urls.write_text(
        text.replace(
            "path('admin/', admin.site.urls),", "path('admin/', admin.site.urls),\n    path('hello/', hello),"
        ).replace(
            'path("admin/", admin.site.urls),', 'path("admin/", admin.site.urls),\n    path("hello/", hello),'
        ),
        encoding="utf-8",
    )


def _init(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "strangler"), "init", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def test_a_bare_startproject_site_gets_through_init_and_up(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _bare_site(site)
    legacy_port = free_port()
    done = _init(site, "--port", str(legacy_port))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "its health path answered 200 through the data plane" in done.stdout
    assert (site / "db.sqlite3").exists(), "init's check ran the file's setup step (migrate)"
    assert "/hello/" in done.stdout and "mysite.views.hello" in done.stdout
    written = (site / "strangler.toml").read_text(encoding="utf-8")
    assert 'DJANGO_SETTINGS_MODULE = "mysite.settings"' in written and 'health = "/hello/"' in written

    # A user's edit survives a second init; --force writes the file again.
    (site / "strangler.toml").write_text(written + "# mine\n", encoding="utf-8")
    again = _init(site, "--no-check")
    assert again.returncode == 0 and "kept as it is" in again.stdout
    assert (site / "strangler.toml").read_text(encoding="utf-8").endswith("# mine\n")
    assert _init(site, "--no-check", "--force", "--port", str(legacy_port)).returncode == 0
    assert not (site / "strangler.toml").read_text(encoding="utf-8").endswith("# mine\n")

    ports = {
        name: free_port()
        for name in ("STRANGLER_ADMIN_PORT", "STRANGLER_DATAPLANE_PORT", "STRANGLER_DATAPLANE_INTERNAL_PORT")
    }
    env = {**{name: str(port) for name, port in ports.items()}, "STRANGLER_DATAPLANE_WORKERS": "1"}
    for name in ("STRANGLER_STORE_URL", "STRANGLER_LEGACY_URL", "STRANGLER_CONFIG", "DATABASE_URL"):
        env[name] = ""
    run = StranglerUp.start(tmp_path / "home", "--config", str(site / "strangler.toml"), env=env)
    try:
        run.wait_ready(timeout=180)
        status, body = get(f"http://127.0.0.1:{ports['STRANGLER_DATAPLANE_PORT']}/hello/", timeout=10)
        assert (status, body) == (200, "hello"), "the bare site answers through the front door"
        names = set(run.ps())
        assert names == {"legacy", "controlplane", "dataplane"}, "nothing of the demo runs for this project"
    finally:
        run.kill()
