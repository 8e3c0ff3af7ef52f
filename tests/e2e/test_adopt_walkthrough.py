"""docs/adopt.md, command by command, on a Django project unlike LegacyShop: a fresh
`django-admin startproject` site plus a small app (Django's own User, cache-backed sessions, a
class-based view, a DRF viewset). init, strangler_django, the inventory, new-service, `strangler up`,
and the service's read route through shadow, canary and new with the CLI: the data plane's answers
come from the monolith until the flip to new, then from the service. A drill's guard rollback under
its own load and the project's locust load (the locustfile docs/adopt.md has the user write, named in
strangler.toml's [load]) loses no write, the drill's or locust's. Then the write route through shadow,
canary and new with both sync directions: every acknowledged write is on both sides
(tests/e2e/adopt_writes.py).

The project has a virtualenv of its own with the toolkit as docs/adopt.md's step 1 installs it: the wheel
``make wheel`` builds, pip-installed with the locked dependencies (tests/e2e/conftest.py). Every command
runs from that virtualenv, in the project's folder, with nothing of the checkout on its path: the test
checks that each of the toolkit's packages is imported from the virtualenv's site-packages."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.e2e.adopt_writes import walk_the_write_route, with_outbox
from tests.integration.supervisor.harness import StranglerUp, get
from tests.support.net import free_port
from tests.support.processes import ROOT
from tests.support.wheel import InstalledToolkit

pytestmark = [pytest.mark.integration, pytest.mark.load]

MODELS = """from django.db import models


class Thing(models.Model):
    name = models.CharField(max_length=100)
"""
VIEWS = """from django.http import HttpResponse
from django.views import View
from rest_framework import serializers, viewsets

from things.models import Thing


class AboutView(View):
    def get(self, request):
        return HttpResponse("about mysite")


class ThingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Thing
        fields = ["id", "name"]


class ThingViewSet(viewsets.ModelViewSet):
    queryset = Thing.objects.order_by("id")
    serializer_class = ThingSerializer
"""
URLS = """from django.contrib import admin
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from things.views import AboutView, ThingViewSet

router = DefaultRouter(trailing_slash=False)
router.register("api/things", ThingViewSet)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("about/", AboutView.as_view()),
    path("", include(router.urls)),
]
"""
SETTINGS_TAIL = """
INSTALLED_APPS += ["rest_framework", "things"]
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
REST_FRAMEWORK = {"DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"]}
"""
# docs/adopt.md, step 3
STRANGLER_SETTINGS = """
INSTALLED_APPS += ["strangler_django"]
STRANGLER_INTERNAL_TOKEN = os.environ.get("STRANGLER_INTERNAL_TOKEN", "")
"""
# docs/adopt.md, step 6: the guards judge each second within a second, so that a rollback can meet the
# drill's 3-second target
GUARDS_FOR_DRILLS = {
    "STRANGLER_STATS_INTERVAL_S": "0.25",
    "STRANGLER_GUARD_LAG_S": "0.5",
    "STRANGLER_GUARD_INTERVAL_S": "0.1",
    "STRANGLER_DEBUG_HEADERS": "true",
}
DRILLS = """
[drills]
upstream = "things"
reads = ["/api/things"]

[drills.write]
path = "/api/things"
body = { name = "drill" }
read = "/api/things"
user = "drill"
password_env = "DRILL_PASSWORD"
"""
PLAN = """name: mysite
upstreams:
  things: http://127.0.0.1:8201
keep_on_legacy: [/admin/, /about/, /healthz, /readyz, /internal/]
stages:
  - name: things
    upstream: things
    routes:
      - name: things-read
        match: {kind: prefix, path: /api/things}
    steps:
      - kind: shadow
      - kind: canary
        weight: 25
      - kind: canary
        weight: 100
"""


def _site(folder: Path, toolkit: InstalledToolkit) -> None:
    """startproject plus the ``things`` app, migrations made as a project would have them, in the
    project's virtualenv."""
    env = toolkit.environ()
    subprocess.run(
        [str(toolkit.bin / "django-admin"), "startproject", "mysite", str(folder)], check=True, env=env
    )
    app = folder / "things"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "models.py").write_text(MODELS)
    (app / "views.py").write_text(VIEWS)
    (folder / "mysite" / "urls.py").write_text(URLS)
    settings = folder / "mysite" / "settings.py"
    settings.write_text("import os\n" + settings.read_text() + SETTINGS_TAIL)
    _run(folder, str(toolkit.bin / "python"), "manage.py", "makemigrations", "things", env=env)


RAN: list[tuple[str, ...]] = []  # the commands of the walkthrough, as a user types them


def _typed(argv: tuple[str, ...]) -> tuple[str, ...]:
    head = Path(argv[0]).name
    return (
        "strangler" if head == "strangler" else "python" if head.startswith("python") else head,
        *argv[1:],
    )


def _documented_commands() -> list[tuple[str, ...]]:
    """The commands of docs/adopt.md's steps 2 to 7 (``sh`` blocks; comments and variables dropped)."""
    text = (ROOT / "docs" / "adopt.md").read_text(encoding="utf-8")
    steps = text[text.index("## 2. ") : text.index("## What is not covered yet")]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", steps, flags=re.S):
        for line in block.splitlines():
            words = [w for w in shlex.split(line, comments=True) if not re.fullmatch(r"[A-Z_]+=\S*", w)]
            if words:
                commands.append(tuple(words))
    return commands


def _documented_block(language: str, first_line: str) -> str:
    """The ``language`` block of docs/adopt.md that starts with ``first_line``, as the user copies it."""
    text = (ROOT / "docs" / "adopt.md").read_text(encoding="utf-8")
    blocks = re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)
    blocks = [block for block in blocks if block.startswith(first_line)]
    assert len(blocks) == 1, f"docs/adopt.md has {len(blocks)} {language} blocks starting {first_line!r}"
    return blocks[0]


def _named(legacy: str, name: str) -> int:
    """How many things the monolith holds with this name (its own API, not the front door)."""
    things = json.loads(get(f"{legacy}/api/things", timeout=10)[1])
    return sum(1 for thing in things if thing["name"] == name)


def _locust_under_the_drill(report: str) -> None:
    """The drill's locust users ran beside it: requests, their failures within what the injected
    fault explains (the service answers 500 to half the reads until the guard rolls the route back;
    the writes stay on the monolith), and their CSV for the ledger's check."""
    figures = r"locust companion load: 2 users for \d+ s, (\d+) requests, (\d+) failures"
    line = re.search(figures, report)
    assert line, f"no locust figures in the report:\n{report}"
    requests, failures = int(line.group(1)), int(line.group(2))
    assert requests > 0 and failures <= requests // 2, report
    assert "locust POST /api/things" not in report, f"a locust write failed on the monolith:\n{report}"


def _locust_writes(report: str) -> int:
    """The writes locust saw acknowledged (from its CSV, named in the report)."""
    from migration_plan.toolbox.load.summary import read_stats_csv

    csv = re.search(r"locust companion load: .*CSV (\S+)", report).group(1)  # type: ignore[union-attr]
    _, endpoints = read_stats_csv(Path(csv))
    posts = [e for e in endpoints if e.method == "POST" and e.name == "/api/things"]
    return sum(e.requests - e.failures for e in posts)


def _run(folder: Path, *argv: str, env: dict[str, str] | None = None) -> str:
    """``argv`` in ``folder``, in ``env`` (the whole environment: the project's virtualenv's), recorded."""
    RAN.append(_typed(argv))
    done = subprocess.run(
        argv,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=240,
        env={**(os.environ if env is None else env), "COLUMNS": "200"},
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout}{done.stderr}"
    return done.stdout


# the setup builds and installs the wheel (1 to 2 min) before the walkthrough's own 2.5 to 3 min
@pytest.mark.timeout(720)
def test_docs_adopt_md_on_a_second_django_project(
    tmp_path: Path, installed_toolkit: InstalledToolkit
) -> None:
    RAN.clear()
    site = tmp_path / "site"
    site.mkdir()
    _site(site, installed_toolkit)
    installed_toolkit.assert_not_the_checkout(site)
    python, strangler = str(installed_toolkit.bin / "python"), str(installed_toolkit.bin / "strangler")
    home = tmp_path / "home"
    ports = {
        "STRANGLER_ADMIN_PORT": free_port(),
        "STRANGLER_DATAPLANE_PORT": free_port(),
        "STRANGLER_DATAPLANE_INTERNAL_PORT": free_port(),
        "THINGS_PORT": free_port(),
    }
    env = {name: str(port) for name, port in ports.items()}
    env |= {"STRANGLER_HOME": str(home), "STRANGLER_DATAPLANE_WORKERS": "1", "STRANGLER_TOKEN": ""}
    env |= GUARDS_FOR_DRILLS
    for name in ("STRANGLER_STORE_URL", "STRANGLER_LEGACY_URL", "STRANGLER_CONFIG", "DATABASE_URL"):
        env[name] = ""
    env = installed_toolkit.environ(env)

    # 2. strangler init: the file, the check through the data plane, the routes
    legacy_port = free_port()
    out = _run(site, strangler, "init", "--port", str(legacy_port), env=env)
    assert "through the data plane" in out
    assert "/about/" in out and "things.views.AboutView" in out
    assert "api/things" in out and "ThingViewSet" in out
    _run(site, strangler, "project", "check", env=env)

    # 3. strangler_django in the settings and the root URLconf, an outbox event in the write path, then
    # migrate; health is /readyz
    (site / "things" / "views.py").write_text(with_outbox(VIEWS))
    settings = site / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + STRANGLER_SETTINGS)
    urls = site / "mysite" / "urls.py"
    urls.write_text(
        urls.read_text().replace(
            '    path("", include(router.urls)),\n',
            '    path("", include(router.urls)),\n    path("", include("strangler_django.urls")),\n',
        )
    )
    _run(site, python, "manage.py", "migrate", env=env)
    project_file = site / "strangler.toml"
    text = project_file.read_text()
    project_file.write_text(text.replace('health = "/about/"', 'health = "/readyz"'))
    assert 'health = "/readyz"' in project_file.read_text()

    # 4. the inventory against the plan
    (site / "plans").mkdir()
    (site / "plans" / "mysite.yaml").write_text(PLAN)
    patterns = _run(site, strangler, "inventory", "--plan", "plans/mysite.yaml", "--no-stats", env=env)
    assert "things-read" in patterns and "/about/" in patterns and "/api/things" in patterns

    # 5. the service, the stack, the route through shadow, canary and new
    out = _run(site, strangler, "new-service", "things", "--route", "/api/things", env=env)
    assert "the route stays on legacy" in out
    assert (site / "new_services" / "things" / "entrypoints" / "wsgi.py").is_file()
    up = StranglerUp.start(
        home, "--config", str(project_file), bin_dir=installed_toolkit.bin, cwd=site, environ=env
    )
    RAN.append(("strangler", "up", "--config", str(project_file)))
    front = f"http://127.0.0.1:{ports['STRANGLER_DATAPLANE_PORT']}"
    try:
        up.wait_ready(timeout=240)
        assert set(up.ps()) == {"legacy", "controlplane", "dataplane", "things"}
        # the service's generated tests, its contract also against the monolith
        contract_env = {**env, "THINGS_LEGACY_URL": f"http://127.0.0.1:{legacy_port}"}
        tested = _run(site, python, "-m", "pytest", "tests/unit/things", "-q", env=contract_env)
        assert "9 passed" in tested, tested
        status, body = get(f"{front}/api/things", timeout=10)
        assert status == 200 and json.loads(body) == [], "the monolith's DRF list answers"
        steps = (
            ("add", "things-read", "--path", "/api/things", "-r", "things: add the route, still on legacy"),
            ("flip", "things-read", "shadow", "--upstream", "things", "-r", "things: shadow"),
            (
                "flip",
                "things-read",
                "canary",
                "--weight",
                "25",
                "--upstream",
                "things",
                "-r",
                "things: canary 25%",
            ),
        )
        for step in steps:
            _run(site, strangler, "routes", *step, env=env)
            status, body = get(f"{front}/api/things", timeout=10)
            assert status == 200, body
        _run(
            site,
            strangler,
            "routes",
            "flip",
            "things-read",
            "new",
            "--upstream",
            "things",
            "-r",
            "things: all traffic",
            env=env,
        )
        status, body = get(f"{front}/api/things", timeout=10)
        assert (status, json.loads(body)) == (200, {"results": []}), (
            "the service answers through the data plane"
        )
        status, body = get(f"{front}/about/", timeout=10)
        assert (status, body) == (200, "about mysite"), "the other routes stay on the monolith"

        # 6. a drill on the service's path under the project's own locust load: the guard rolls it back,
        # every acknowledged write (the drill's and locust's) is there
        (site / "loadtests").mkdir()
        (site / "loadtests" / "mysite.py").write_text(_documented_block("python", "# loadtests/mysite.py"))
        load_section = _documented_block("toml", "[load]")
        project_file.write_text(project_file.read_text() + DRILLS + "\n" + load_section)
        _run(site, strangler, "project", "check", env=env)
        rollback = ("rollback", "things-read", "--to", "legacy", "-r", "things: back to legacy for the drill")
        _run(site, strangler, "routes", *rollback, env=env)
        _run(
            site,
            python,
            "manage.py",
            "createsuperuser",
            "--noinput",
            "--username",
            "drill",
            "--email",
            "drill@example.org",
            env={**env, "DJANGO_SUPERUSER_PASSWORD": "drill-password"},
        )
        legacy = f"http://127.0.0.1:{legacy_port}"
        drill_before, locust_before = _named(legacy, "drill"), _named(legacy, "locust")
        reports = tmp_path / "reports"
        drilled = _run(
            site,
            strangler,
            "drill",
            "errors",
            "--attach",
            "--route",
            "/api/things",
            "--locust-users",
            "2",
            "--capacity-fraction",
            "0.3",
            "--reports",
            str(reports),
            env={**env, "DRILL_PASSWORD": "drill-password"},
        )
        line = re.search(r"drill errors: .*lost_writes=(\d+)", drilled)
        assert line and line.group(1) == "0", drilled
        report = next(reports.glob("*-errors.md")).read_text()
        assert "route drill-api-things on new (upstream things)" in report, report
        assert "guard: 2 consecutive failing windows" in report, report
        _locust_under_the_drill(report)
        acknowledged = int(re.search(r"\| acknowledged writes \| (\d+) \|", report).group(1))  # type: ignore[union-attr]
        assert acknowledged > 0 and _named(legacy, "drill") - drill_before >= acknowledged, report
        locust_acknowledged = _locust_writes(report)
        assert locust_acknowledged > 0, report
        assert _named(legacy, "locust") - locust_before >= locust_acknowledged, "a locust write was lost"
        routes = _run(site, strangler, "routes", "list", "-o", "json", env=env)
        assert "drill-api-things" not in routes, "the drill removed the route it created"
    finally:
        up.kill()

    # 6. the same drill on a stack of its own: strangler.toml's processes on free ports, a temporary home
    own_reports = tmp_path / "own-reports"
    drilled = _run(
        site,
        strangler,
        "drill",
        "errors",
        "--route",
        "/api/things",
        "--reports",
        str(own_reports),
        env={**env, "DRILL_PASSWORD": "drill-password"},
    )
    line = re.search(r"drill errors: .*lost_writes=(\d+)", drilled)
    assert line and line.group(1) == "0", drilled
    report = next(own_reports.glob("*-errors.md")).read_text()
    assert "route drill-api-things on new (upstream things)" in report, report
    assert int(re.search(r"\| acknowledged writes \| (\d+) \|", report).group(1)) > 0, report  # type: ignore[union-attr]

    # 7. the write route through shadow, canary and new, both sync directions checked against the ledger
    apps = _documented_block("python", "# things/apps.py")
    sides = walk_the_write_route(site, _run, RAN, env, ports, legacy_port, installed_toolkit.bin, apps)
    assert sides == {"legacy": 6, "new": 2}, sides  # a canary's writes all on the legacy, its one writer

    # docs/adopt.md says what ran: each of its commands, in its order, is one the walkthrough ran (with
    # at most options added: ports and folders of the test's own)
    documented = _documented_commands()
    assert len(documented) >= 10, documented
    position = 0
    for command in documented:
        matches = [i for i, ran in enumerate(RAN) if i >= position and ran[: len(command)] == command]
        assert matches, f"docs/adopt.md's `{' '.join(command)}` is not run (in order) by this test: {RAN}"
        position = matches[0] + 1
