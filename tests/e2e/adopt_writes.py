"""docs/adopt.md's step 7 as the walkthrough runs it: a scaffolded service takes the write route through
shadow, canary and new, and every write the front door acknowledged is checked on both sides against the
client's ledger (by its id and name), not only the two sides against each other.

Writes are sent one at a time and each is awaited on both sides before the next: the monolith and the
scaffolded service both number new things (an integer id each), which only stays collision-free while
neither numbers a thing before it has the other's last one (docs/adopt.md, "What is not covered yet").
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import re
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from contextlib import closing
from itertools import count
from pathlib import Path

from migration_plan.ports import free_port_range
from migration_plan.toolbox.supervisor.sync_specs import HEALTH_PORTS
from strangler_proxy.routes.canary import BUCKET_COOKIE, bucket_of
from tests.integration.supervisor.harness import StranglerUp, get, wait_until

__all__ = ["APPLIER", "FrontDoorUser", "Ledger", "bucket_key", "walk_the_write_route", "with_outbox"]

# docs/adopt.md, step 7: the monolith's applier of the service's events
APPLIER = '''from strangler_django.appliers import Applier, ReverseEventError
from strangler_django.outbox import record_event

from things.models import Thing


class ThingApplier(Applier):
    """The things service's new things, on the monolith's table."""

    aggregate_type = "things"
    event_types = frozenset({"things.created"})

    def parse_key(self, event_type, aggregate_id):
        try:
            return int(aggregate_id)
        except ValueError:
            raise ReverseEventError("aggregate_id", "aggregate_id must be an integer.") from None

    def apply(self, event):
        name = event.payload.get("name")
        if not isinstance(name, str) or not name:
            raise ReverseEventError("name", "name must be a non-empty string.")
        thing, _ = Thing.objects.update_or_create(pk=event.key, defaults={"name": name})
        payload = {"id": thing.pk, "name": name}
        record_event("things", thing.pk, "things.created", payload, origin=event.origin)
'''
# Sessions every worker of the monolith shares (its cache is per process; the database behind it is not):
# the front door resolves a user's session for the service at any worker.
APPLIER_SETTINGS = """
STRANGLER_SYNC_APPLIERS = ["things.appliers.ThingApplier"]
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
"""
# docs/adopt.md, step 7: the monolith's database (the relay reads its outbox) and both directions
LEGACY_DATABASE = 'database = "sqlite:///{root}/db.sqlite3"\n'
SYNC = """
[sync]
reverse = { things = "reverse:things" }
forward = ["things"]
"""

# docs/adopt.md, step 3: the monolith's write path records an outbox event in its transaction
PERFORM_CREATE = """
    def perform_create(self, serializer):
        with transaction.atomic():
            thing = serializer.save()
            record_event("things", thing.pk, "things.created", {"id": thing.pk, "name": thing.name})
"""
OUTBOX_IMPORTS = "from django.db import transaction\nfrom strangler_django.outbox import record_event\n"


def with_outbox(views: str) -> str:
    """The site's views with the viewset's creations recorded in the outbox."""
    return OUTBOX_IMPORTS + views + PERFORM_CREATE


def bucket_key(*, new_side: bool, weight: int) -> str:
    """A canary bucket key that puts its holder on the new side of a ``weight`` % canary, or not."""
    for number in count():
        key = f"adopt-walkthrough-{number:06d}"
        if (bucket_of(key) < weight * 100) == new_side:
            return key
    raise AssertionError("unreachable")


class FrontDoorUser:
    """A user of the front door: a cookie jar with a fixed canary bucket, signed in on the monolith."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        domain = urllib.parse.urlsplit(base).hostname or "127.0.0.1"
        self.jar.set_cookie(_cookie(BUCKET_COOKIE, key, domain))
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, str, str]:
        """Status, body and the side that answered (``X-Strangler-Target``)."""
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=10) as response:
                return (
                    response.status,
                    response.read().decode(),
                    response.headers.get("X-Strangler-Target", ""),
                )
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), exc.headers.get("X-Strangler-Target", "")

    def sign_in(self, username: str, password: str) -> None:
        status, page, _ = self.request("GET", "/admin/login/", None, {})
        assert status == 200, page[:500]
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, page[:500]
        form = {
            "csrfmiddlewaretoken": match.group(1),
            "username": username,
            "password": password,
            "next": "/admin/",
        }
        content = {"Content-Type": "application/x-www-form-urlencoded"}
        status, page, _ = self.request(
            "POST", "/admin/login/?next=/admin/", urllib.parse.urlencode(form).encode(), content
        )
        assert status == 200 and any(c.name == "sessionid" for c in self.jar), page[:500]

    def create(self, name: str) -> tuple[dict[str, object], str]:
        """POST /api/things as the signed-in user (with Django's CSRF token); the thing and its side."""
        csrf = next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")
        headers = {"Content-Type": "application/json", "X-CSRFToken": csrf or ""}
        status, body, side = self.request("POST", "/api/things", json.dumps({"name": name}).encode(), headers)
        assert status == 201, f"{status} from {side or 'the front door'}: {body[:500]}"
        return json.loads(body), side


def _cookie(name: str, value: str, domain: str) -> http.cookiejar.Cookie:
    return http.cookiejar.Cookie(
        0, name, value, None, False, domain, False, False, "/", True, False, None, False, None, None, {}
    )


def _listed(url: str) -> set[tuple[int, str]]:
    status, body = get(f"{url}/api/things", timeout=10)
    assert status == 200, body[:500]
    data = json.loads(body)
    rows = data["results"] if isinstance(data, dict) else data
    return {(int(row["id"]), str(row["name"])) for row in rows}


class Ledger:
    """The acknowledged writes, each checked on the monolith and on the service (asked directly)."""

    def __init__(self, monolith: str, service: str) -> None:
        self.monolith, self.service = monolith, service
        self.acknowledged: set[tuple[int, str]] = set()
        self.sides: dict[str, int] = {}

    def settled(self) -> set[tuple[int, str]]:
        """Both sides once they hold the same things (every acknowledged one among them)."""

        def same() -> set[tuple[int, str]] | None:
            on_monolith, on_service = _listed(self.monolith), _listed(self.service)
            return on_monolith if on_monolith == on_service and self.acknowledged <= on_monolith else None

        return wait_until(same, timeout=30, what="both sides holding every acknowledged write")  # type: ignore[no-any-return]

    def write(self, user: FrontDoorUser, name: str) -> str:
        """One write through the front door, awaited on both sides; the side that took it."""
        thing, side = user.create(name)
        self.acknowledged.add((int(thing["id"]), name))  # type: ignore[call-overload]
        self.sides[side] = self.sides.get(side, 0) + 1
        self.settled()
        return side

    def record(self, thing: dict[str, object]) -> None:
        """A write acknowledged elsewhere (the monolith asked directly)."""
        self.acknowledged.add((int(thing["id"]), str(thing["name"])))  # type: ignore[call-overload]

    def check(self) -> None:
        """The final check: each name written once, on both sides, under the id acknowledged for it."""
        both = self.settled()
        names = [name for _, name in both]
        for key, name in self.acknowledged:
            assert (key, name) in both and names.count(name) == 1, (key, name, sorted(both))


Run = Callable[..., str]
"""The walkthrough's ``_run(folder, *argv, env=...)``: runs a command as the user types it, recorded."""


def _post_on_the_monolith(monolith: str, name: str, user: str, password: str) -> dict[str, object]:
    """A write on the monolith itself (its own API, HTTP basic auth), not through the front door."""
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}", "Content-Type": "application/json"}
    data = json.dumps({"name": name}).encode()
    request = urllib.request.Request(f"{monolith}/api/things", data=data, method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return json.loads(response.read())  # type: ignore[no-any-return]


def _a_thing_from_before_the_outbox(site: Path, name: str) -> dict[str, object]:
    """A row the monolith's table holds with no outbox event (written before step 3's ``record_event``)."""
    with closing(sqlite3.connect(site / "db.sqlite3")) as db, db:
        thing_id = db.execute("INSERT INTO things_thing (name) VALUES (?)", (name,)).lastrowid
    return {"id": thing_id, "name": name}


def walk_the_write_route(
    site: Path,
    run: Run,
    ran: list[tuple[str, ...]],
    env: dict[str, str],
    ports: dict[str, int],
    legacy_port: int,
    bin_dir: Path,
    apps: str,
) -> dict[str, int]:
    """docs/adopt.md's step 7 on the walkthrough's site (its stack stopped), with the project's virtualenv
    (``bin_dir``) and ``env`` (the whole environment), ``apps`` the snapshot registration its
    ``things/apps.py`` block shows; the writes each side took."""
    strangler, home = str(bin_dir / "strangler"), Path(env["STRANGLER_HOME"])
    (site / "things" / "appliers.py").write_text(APPLIER)
    settings = site / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + APPLIER_SETTINGS)
    project_file = site / "strangler.toml"
    text = project_file.read_text().replace(
        'health = "/readyz"\n', 'health = "/readyz"\n' + LEGACY_DATABASE, 1
    )
    project_file.write_text(text + SYNC)
    # the forward backfill: a thing the outbox never saw reaches the service as a snapshot event
    old_thing = _a_thing_from_before_the_outbox(site, "from before the outbox")
    (site / "things" / "apps.py").write_text(apps)
    backfilled = run(site, str(bin_dir / "python"), "manage.py", "strangler_backfill", "things", env=env)
    assert re.search(r"^things: \d+ things\.snapshot events recorded$", backfilled, flags=re.M), backfilled
    run(site, strangler, "project", "check", env=env)
    env = {**env, "STRANGLER_SYNC_HEALTH_PORT": str(free_port_range(HEALTH_PORTS + 3))}
    up = StranglerUp.start(home, "--config", str(project_file), bin_dir=bin_dir, cwd=site, environ=env)
    ran.append(("strangler", "up", "--config", str(project_file)))
    front = f"http://127.0.0.1:{ports['STRANGLER_DATAPLANE_PORT']}"
    monolith = f"http://127.0.0.1:{legacy_port}"
    ledger = Ledger(monolith, f"http://127.0.0.1:{ports['THINGS_PORT']}")
    ledger.record(old_thing)
    try:
        up.wait_ready(timeout=240)
        assert {"sync-relay", "sync-forward-things", "sync-reverse-things"} <= set(up.ps()), up.ps()
        # the drills' writes on the monolith and the thing from before the outbox, carried to the service
        # by forward sync
        ledger.settled()
        stays, moves = (FrontDoorUser(front, bucket_key(new_side=side, weight=25)) for side in (False, True))
        for user in (stays, moves):
            user.sign_in("drill", "drill-password")

        def routes(*step: str) -> None:
            run(site, strangler, "routes", *step, env=env)

        write_route = ("things-write", "--path", "/api/things", "--methods", "POST", "--position", "0")
        routes("add", *write_route, "-r", "things: writes, on legacy")
        to_things = ("--upstream", "things")
        routes("flip", "things-write", "shadow", *to_things, "-r", "things: shadow the writes")
        assert [ledger.write(stays, f"shadow {n}") for n in range(2)] == ["legacy"] * 2
        routes("flip", "things-write", "canary", "--weight", "25", *to_things, "-r", "things: 25%")
        for n in range(2):  # one writer: a user on the canary's new side still writes on the legacy
            sides = (ledger.write(moves, f"canary new {n}"), ledger.write(stays, f"canary old {n}"))
            assert sides == ("legacy", "legacy"), sides
        routes("flip", "things-write", "new", *to_things, "-r", "things: all writes")
        assert [ledger.write(user, f"new {n}") for n, user in enumerate((stays, moves))] == ["new"] * 2
        # forward sync: a write the monolith takes by another way still reaches the service
        ledger.record(_post_on_the_monolith(monolith, "on the monolith", "drill", "drill-password"))
        ledger.check()
    finally:
        up.kill()
    return ledger.sides
