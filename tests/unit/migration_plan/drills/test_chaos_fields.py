"""The chaos drill's field changes (``[drills.chaos] fields``): writes that do not commute. Each id has one
writer sending its changes in order, and after the drill each side must hold the id's last acknowledged
value, unless a later write of unknown outcome explains what it holds."""

from __future__ import annotations

import functools
import json
import threading
import time

import httpx2
import pytest

from migration_plan.project import ProjectFileError
from migration_plan.project.loader import parse_project
from migration_plan.toolbox.drills.chaos_config import chaos_options, write_rule_match
from migration_plan.toolbox.drills.chaos_fields import FieldCheck, FieldLedger, FieldWrites, field_owners
from migration_plan.toolbox.drills.chaos_load import ChaosLoad, ChaosLoadSettings
from migration_plan.toolbox.drills.chaos_result import ChaosResult
from migration_plan.toolbox.drills.profile import drill_profile
from tests.unit.migration_plan.drills.test_chaos_config import SITE

pytestmark = pytest.mark.unit

FIELDS = (
    'fields = { path = "/api/counters/{id}", key = "label", read = "/api/counters/{id}", ids = [3, 4] }\n'
)


def _site(fields: str) -> str:
    return SITE.replace("down = [7]\n", f"down = [7]\n{fields}")


def ledger_of(*writes: tuple[str, str]) -> FieldLedger:
    ledger = FieldLedger()
    for value, outcome in writes:
        ledger.record(7, value, outcome)
    return ledger


def test_a_side_holding_an_older_value_than_the_last_acknowledged_one_lost_a_write() -> None:
    ledger = ledger_of(("v1", "acknowledged"), ("v2", "acknowledged"), ("v3", "refused"))
    check = FieldCheck({7: "v0"}, {"legacy": {7: "v2"}, "catalog": {7: "v1"}}, ledger)
    assert check.lost == 1
    assert check.lines == [
        "field 7 on legacy: 'v0' -> 'v2' (2 acknowledged): ok",
        "field 7 on catalog: 'v0' -> 'v1' (2 acknowledged): lost: the last acknowledged value is 'v2'",
    ]
    # a refused write's value, the value from before, a value nobody sent: lost too (one per id)
    for end in ("v3", "v0", "other"):
        assert FieldCheck({7: "v0"}, {"legacy": {7: end}, "catalog": {7: end}}, ledger).lost == 1


def test_a_later_write_of_unknown_outcome_explains_the_final_value_an_earlier_one_does_not() -> None:
    ledger = ledger_of(("v1", "unknown"), ("v2", "acknowledged"), ("v3", "unknown"), ("v4", "unknown"))
    explained = FieldCheck({7: "v0"}, {"legacy": {7: "v4"}, "catalog": {7: "v3"}}, ledger)
    assert explained.lost == 0
    assert explained.lines[0].endswith("ok (a later write of unknown outcome)")
    reordered = FieldCheck({7: "v0"}, {"legacy": {7: "v1"}}, ledger)
    assert reordered.lost == 1, "v1 was sent before the acknowledged v2: v2 was lost (or overwritten)"


def test_without_an_acknowledged_write_the_value_from_before_or_an_unknown_one_stands() -> None:
    ledger = ledger_of(("v1", "unknown"), ("v2", "refused"))
    for end in ("v0", "v1"):
        assert FieldCheck({7: "v0"}, {"legacy": {7: end}}, ledger).lost == 0
    assert FieldCheck({7: "v0"}, {"legacy": {7: "v2"}}, ledger).lost == 1
    assert FieldCheck({7: "v0"}, {"legacy": {7: "v0"}}, FieldLedger()).lost == 0, "never written: fine"


def test_the_file_s_fields_are_checked_and_their_errors_name_the_key() -> None:
    project = parse_project(_site(FIELDS))
    options = chaos_options(
        project, drill_profile(project, environ={"OPS_PASSWORD": "x"}), seed=1, duration_s=5
    )
    assert options.fields == FieldWrites(
        path="/api/counters/{id}", key="label", read="/api/counters/{id}", ids=(3, 4)
    )
    assert options.rule_match == {
        "kind": "pattern",
        "path": "(?:/api/counters/[0-9]+/moves)|(?:/api/counters/[0-9]+)",
        "methods": ["PATCH", "POST"],
    }
    assert write_rule_match("/api/x/{id}")["methods"] == ["POST"], "without fields: the moves only"
    bad = {
        r"drills\.chaos\.fields: path and read need \{id\}": FIELDS.replace(
            'path = "/api/counters/{id}"', 'path = "/c"'
        ),
        r"drills\.chaos\.fields\.method: Input should be 'PATCH', 'PUT' or 'POST'": FIELDS.replace(
            "fields = {", 'fields = { method = "GET",'
        ),
        r"drills\.chaos\.fields: ids \[3\] are listed twice": FIELDS.replace("[3, 4]", "[3, 4, 3]"),
        r"drills\.chaos\.fields\.share: Input should be greater than 0": FIELDS.replace(
            "[3, 4]", "[3], share = 0"
        ),
        r"drills\.chaos\.fields\.key: Field required": FIELDS.replace('key = "label", ', ""),
        r"drills\.chaos\.fields\.colour: unknown key": FIELDS.replace("[3, 4]", '[3], colour = "red"'),
    }
    for message, fields in bad.items():
        with pytest.raises(ProjectFileError, match=message):
            parse_project(_site(fields))


def test_each_field_id_has_one_client_which_sends_its_changes_one_after_the_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert field_owners((7, 8, 9), 2) == {0: (7, 9), 1: (8,)}
    assert field_owners((7,), 3) == {0: (7,), 1: (), 2: ()}
    logins = iter(range(100))
    lock = threading.Lock()
    in_flight: dict[str, int] = {}
    changes: list[tuple[str, str, str]] = []  # (path, session, value) in the order they arrived
    overlaps: list[str] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET":
            form = '<input name="csrfmiddlewaretoken" value="tok">'
            return httpx2.Response(200, text=form, headers={"Set-Cookie": "csrftoken=tok; Path=/"})
        if request.url.path == "/login/":
            cookie = f"sessionid=s{next(logins)}; Path=/"
            return httpx2.Response(302, headers={"Set-Cookie": cookie, "Location": "/"})
        if request.method != "PATCH":
            return httpx2.Response(200, json={})
        path = request.url.path
        with lock:
            in_flight[path] = in_flight.get(path, 0) + 1
            if in_flight[path] > 1:
                overlaps.append(path)
            session = request.headers["cookie"].split("sessionid=")[1].split(";")[0]
            changes.append((path, session, json.loads(request.content)["label"]))
        time.sleep(0.002)  # an answer takes a moment: a second writer of the id would overlap it
        with lock:
            in_flight[path] -= 1
        return httpx2.Response(200 if len(changes) % 5 else 504, json={})

    monkeypatch.setattr(
        httpx2, "Client", functools.partial(httpx2.Client, transport=httpx2.MockTransport(answer))
    )
    fields = FieldWrites(path="/api/counters/{id}", key="label", read="/api/counters/{id}", ids=(3, 4, 5))
    settings = ChaosLoadSettings(
        "http://front.test",
        write_path="/api/counters/{id}/moves",
        delta_key="by",
        login="/login/",
        up_products=(1,),
        down_products=(7,),
        clients=4,
        staff=("ops", "secret"),
        seed=9,
        fields=fields,
    )
    load = ChaosLoad(settings)
    load.start(rate=800.0)
    deadline = time.monotonic() + 10
    while len(changes) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    load.stop()
    assert not overlaps, f"two changes of one id were in flight at once: {overlaps[:3]}"
    for record in (3, 4, 5):
        mine = [(session, value) for path, session, value in changes if path == f"/api/counters/{record}"]
        assert len({session for session, _ in mine}) == 1, f"id {record} had one writer: {mine[:5]}"
        assert [value for _, value in mine] == [f"chaos-9-{record}-{n}" for n in range(1, len(mine) + 1)]
        ledger = load.field_ledger.sent[record]
        assert [value for value, _ in ledger] == [value for _, value in mine], "the ledger in send order"
    assert load.field_ledger.count("unknown") > 0, "a 504 leaves a change's outcome unknown"
    assert load.ledger.writes["acknowledged"] > 0, "the moves went on beside the changes"
    result = ChaosResult(
        seed=9, started=0.0, duration_s=1.0, field_writes=load.field_ledger.count("acknowledged")
    )
    assert f" conflicts=0 field_writes={result.field_writes} " in result.line()


def test_the_fields_are_set_back_through_the_front_door_in_a_session_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[str, str, dict[str, str]]] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET":
            form = '<input name="csrfmiddlewaretoken" value="tok">'
            return httpx2.Response(200, text=form, headers={"Set-Cookie": "csrftoken=tok; Path=/"})
        if request.url.path == "/login/":
            return httpx2.Response(302, headers={"Set-Cookie": "sessionid=s; Path=/", "Location": "/"})
        sent.append((request.method, request.url.path, json.loads(request.content)))
        return httpx2.Response(200 if request.url.path.endswith("/3") else 409, json={"error": "conflict"})

    monkeypatch.setattr(
        httpx2, "Client", functools.partial(httpx2.Client, transport=httpx2.MockTransport(answer))
    )
    fields = FieldWrites(path="/api/counters/{id}", key="label", read="/api/counters/{id}", ids=(3, 4))
    load = ChaosLoad(
        ChaosLoadSettings("http://front.test", write_path="/m/{id}", login="/login/", fields=fields)
    )
    notes = load.put_fields_back({3: "three", 4: "four"})
    assert sent == [
        ("PATCH", "/api/counters/3", {"label": "three"}),
        ("PATCH", "/api/counters/4", {"label": "four"}),
    ]
    assert notes == ["field 4 was not set back to 'four': refused (http 409)"]
