"""A reverse event the real monolith refuses for good goes to the dead letters; the ones after it are
applied; the lag record counts it; once the cause is fixed, ``dead-letters --retry`` delivers it."""

from __future__ import annotations

import argparse
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from acl.sync.commands.dead_letters import register, run
from acl.sync.core.dead_letters import DeadLetters
from acl.sync.pipelines import configured_pipelines, load_pipelines, sync_settings
from acl.sync.service.outbox import create_service_outbox, record_service_event
from tests.integration.sync.harness import SyncStack, eventually, running_sync_stack

pytestmark = pytest.mark.integration

NEW_CATEGORY = "Garden>Rakes"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[SyncStack]:
    with running_sync_stack(tmp_path) as running:
        yield running


def _category_of(stack: SyncStack, product_id: int) -> str:
    return stack.scalar(
        "legacy",
        "SELECT c.cat_path FROM tbl_product p JOIN tbl_category c ON c.ctg_id = p.ctg_id"
        " WHERE p.prd_id = :id",
        id=product_id,
    )


def _dead(stack: SyncStack) -> int | None:
    return stack.scalar("sync", "SELECT dead FROM sync_dead WHERE direction = 'reverse'")


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["dead-letters", *argv])


def test_a_refused_event_is_set_aside_and_the_next_ones_are_applied(
    stack: SyncStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    with stack.engine("catalog").begin() as connection:
        create_service_outbox(connection)

        def change(product_id: int, **payload: object) -> str:
            return record_service_event(
                connection,
                aggregate_type="product",
                aggregate_id=product_id,
                event_type="product.updated",
                payload={"prd_id": product_id, **payload},
                origin="catalog",
            )

        change(3, stk_qty=31)
        refused = change(5, cat_path=NEW_CATEGORY)  # a category the monolith does not have
        change(4, stk_qty=44)
    stack.start("reverse")

    eventually(lambda: stack.legacy_product(4)["stock"] == 44, what="the event after the refused one")
    assert stack.legacy_product(3)["stock"] == 31
    assert _category_of(stack, 5) != NEW_CATEGORY
    [letter] = DeadLetters(stack.engine("catalog")).list()
    assert letter.event_id == refused and letter.event_type == "product.updated"
    reason = json.loads(letter.reason)
    assert reason["code"] == "invalid_body" and reason["field"] == "cat_path"
    assert "unknown category" in reason["message"]
    assert "dead letter" in (stack.workdir / "reverse.log").read_text()  # logged as an error, with the id
    assert refused in (stack.workdir / "reverse.log").read_text()

    # The relay's lag record counts it; the backlog is empty (nothing stalls behind it).
    eventually(lambda: _dead(stack) == 1, what="the dead count in sync_dead")
    assert stack.scalar("sync", "SELECT backlog FROM sync_lag WHERE direction = 'reverse'") == 0
    measured = json.loads(stack.sync("lag", "--json").stdout)["reverse"]
    assert measured["dead"] == 1 and measured["backlog"] == 0
    assert "dead 1" in stack.sync("lag").stdout
    listed = json.loads(stack.sync("dead-letters", "--json").stdout)
    assert [entry["event_id"] for entry in listed] == [refused]
    assert listed[0]["reason"]["field"] == "cat_path" and listed[0]["aggregate"] == "product/5"
    assert stack.sync("dead-letters", "--retry", refused, check=False).returncode == 1  # still refused

    for name, value in stack.env.items():
        monkeypatch.setenv(name, value)
    # as `python -m acl.sync` does, in the repository (its strangler.toml names the demo's pipelines)
    settings = sync_settings(load_pipelines(configured_pipelines(os.environ)), os.environ)
    out = io.StringIO()
    assert run(settings, _args("--retry", refused), out=out) == 1  # the cause is still there
    [letter] = DeadLetters(stack.engine("catalog")).list()
    assert json.loads(letter.reason)["field"] == "cat_path" and letter.attempts == 3

    # The category now exists on the monolith: the retry is applied and leaves the dead letters.
    stack.execute(
        "legacy",
        "INSERT INTO tbl_category (ctg_nm, parent_id, cat_path) VALUES ('Rakes', NULL, :path)",
        path=NEW_CATEGORY,
    )
    out = io.StringIO()
    assert run(settings, _args("--all"), out=out) == 0, out.getvalue()
    assert "1 delivered, 0 still dead" in out.getvalue()
    assert _category_of(stack, 5) == NEW_CATEGORY
    assert DeadLetters(stack.engine("catalog")).list() == []
    eventually(lambda: _dead(stack) == 0, what="the dead count back to 0")
