"""`strangler drill chaos` takes its writes, route and counters from strangler.toml ([drills.write] and
[drills.chaos]): LegacyShop's file gives the demo's stock writes, another project its own; the load sends
the configured write with the configured key after logging in at the configured form."""

from __future__ import annotations

import functools
import json

import httpx2
import pytest

from migration_plan.project import ProjectFileError, load_project
from migration_plan.project.loader import parse_project
from migration_plan.toolbox.drills.chaos_config import chaos_options, write_rule_match
from migration_plan.toolbox.drills.chaos_fields import FieldWrites
from migration_plan.toolbox.drills.chaos_load import ChaosLoad, ChaosLoadSettings
from migration_plan.toolbox.drills.profile import DrillProfileError, drill_profile
from tests.support.processes import ROOT

pytestmark = pytest.mark.unit

SITE = """
[legacy]
command = "{python} -m gunicorn mysite.wsgi:application --bind 127.0.0.1:{port}"
port = 8100

[[services]]
name = "counters"
command = "{python} -m counters --port {port}"
port = 8201

[drills]
upstream = "counters"
reads = ["/api/counters"]

[drills.write]
path = "/api/counters/{id}/moves"
body = { by = 1 }
read = "/api/counters/{id}"
field = "value"
ids = [1, 2]
user = "ops"
password_env = "OPS_PASSWORD"
undo = "by"

[drills.chaos]
login = "/login/"
up = [1, 2]
down = [7]
"""


def test_legacyshop_s_file_gives_the_demo_s_stock_writes() -> None:
    project = load_project(ROOT / "strangler.toml")
    options = chaos_options(project, drill_profile(project), seed=3, duration_s=20.0, rate=10.0)
    assert options.route == "chaos-stock"
    # one route for the stock moves and the renames: every handover moves both kinds of writes at once
    assert dict(options.rule_match) == {
        "kind": "pattern",
        "path": "(?:/api/products/[0-9]+/stock)|(?:/api/products/[0-9]+)",
        "methods": ["PATCH", "POST"],
    }
    assert options.fields == FieldWrites(
        path="/api/products/{id}", key="name", read="/api/products/{id}", ids=(7, 8), method="PATCH"
    )
    assert (options.probe.path, options.probe.read, options.probe.field, options.probe.undo) == (
        "/api/products/{id}/stock",
        "/api/products/{id}",
        "stock",
        "delta",
    )
    assert (options.up_products, options.down_products) == ((1, 2, 3), (4, 5, 6))
    assert options.probe.auth == ("staff", "staff-password-123")
    assert (options.login, options.seed, options.duration_s, options.rate) == (
        "/accounts/login/",
        3,
        20.0,
        10.0,
    )


def test_another_project_drills_its_own_writes() -> None:
    project = parse_project(SITE)
    profile = drill_profile(project, environ={"OPS_PASSWORD": "secret"})
    options = chaos_options(project, profile, seed=1, duration_s=30.0)
    assert options.route == "drill-chaos" and options.login == "/login/"
    assert dict(options.rule_match) == write_rule_match("/api/counters/{id}/moves")
    assert write_rule_match("/api/counters/{id}/moves")["path"] == "/api/counters/[0-9]+/moves"
    assert options.probe.auth == ("ops", "secret")
    assert (options.up_products, options.down_products) == ((1, 2), (7,))
    assert options.fields is None, "no fields key: counters only"


def test_what_the_file_lacks_is_named() -> None:
    without = parse_project(SITE.split("[drills.chaos]")[0])
    with pytest.raises(DrillProfileError, match=r"needs \[drills.chaos\]"):
        chaos_options(without, drill_profile(without, environ={"OPS_PASSWORD": "x"}), seed=1, duration_s=5)
    no_undo = parse_project(SITE.replace('undo = "by"\n', ""))
    with pytest.raises(DrillProfileError, match="give it undo"):
        chaos_options(no_undo, drill_profile(no_undo, environ={"OPS_PASSWORD": "x"}), seed=1, duration_s=5)
    with pytest.raises(ProjectFileError, match="both up and down"):
        parse_project(SITE.replace("down = [7]", "down = [2]"))


def test_the_load_logs_in_at_the_form_and_posts_the_configured_move(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str, bytes]] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append((request.method, request.url.path, request.content))
        if request.method == "GET":
            form = '<input name="csrfmiddlewaretoken" value="tok">'
            return httpx2.Response(200, text=form, headers={"Set-Cookie": "csrftoken=tok; Path=/"})
        if request.url.path == "/login/":
            return httpx2.Response(302, headers={"Set-Cookie": "sessionid=s; Path=/", "Location": "/"})
        return httpx2.Response(200, json={})

    settings = ChaosLoadSettings(
        "http://front.test",
        write_path="/api/counters/{id}/moves",
        delta_key="by",
        login="/login/",
        up_products=(1,),
        down_products=(7,),
        staff=("ops", "secret"),
    )
    monkeypatch.setattr(
        httpx2, "Client", functools.partial(httpx2.Client, transport=httpx2.MockTransport(answer))
    )
    load = ChaosLoad(settings)
    client = load.login()
    assert [(method, path) for method, path, _ in seen] == [("GET", "/login/"), ("POST", "/login/")]
    load._write(client, 7, 2)  # one write, without the load's threads
    client.close()
    assert seen[-1][:2] == ("POST", "/api/counters/7/moves")
    assert json.loads(seen[-1][2]) == {"by": -2}
    assert load.ledger.writes["acknowledged"] == 1
