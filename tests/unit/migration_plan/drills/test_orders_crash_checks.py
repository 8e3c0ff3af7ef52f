"""The crash drill's invariants catch what they are there for: an oversold product, an acknowledged order
missing on a side, a checkout left unfinished; and a checkout's answer goes to the right column."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from migration_plan.cli.main import app
from migration_plan.project import load_project
from migration_plan.project.drills_section import DrillCrashSection
from migration_plan.toolbox.drills.capacity import Capacity, load_rate
from migration_plan.toolbox.drills.checkout_checks import (
    Checkout,
    CheckoutLedger,
    check_stock,
    missing_orders,
)
from migration_plan.toolbox.drills.checkout_load import judge_checkout
from migration_plan.toolbox.drills.orders_crash import CrashResult, write_crash_report
from tests.support.processes import ROOT

pytestmark = pytest.mark.unit


def _order(customer: str, key: str, order_no: str, units: dict[int, int]) -> Checkout:
    return Checkout(customer, key, 201, order_no=order_no, units=units)


def test_stock_matching_the_acknowledged_orders_passes() -> None:
    check = check_stock({1: 10, 2: 5}, {1: 7, 2: 5}, {1: 3}, lowest={1: 7, 2: 5})
    assert (check.oversold, check.held) == (0, 0)
    assert all(line.endswith(": ok") for line in check.lines), check.lines


def test_an_oversold_product_is_caught() -> None:
    # 4 units in acknowledged orders, but the stock only moved by 2: two units sold that were not taken
    check = check_stock({1: 10}, {1: 8}, {1: 4})
    assert check.oversold == 2 and check.held == 0
    assert "OVERSOLD by 2" in check.lines[0]


def test_a_stock_reading_below_zero_is_oversold_even_when_it_came_back() -> None:
    check = check_stock({1: 3}, {1: 0}, {1: 3}, lowest={1: -2})
    assert check.oversold == 2
    assert check.lines[0].startswith("product 1: stock 3 -> 0 (lowest -2)")


def test_stock_gone_without_an_acknowledged_order_is_held_stock() -> None:
    # a reservation left behind by a crashed checkout: 2 units gone, no order to show for them
    check = check_stock({1: 10}, {1: 5}, {1: 3})
    assert check.held == 2 and check.oversold == 0
    assert "2 unit(s) gone without an acknowledged order" in check.lines[0]


def test_a_missing_acknowledged_order_is_caught_per_side() -> None:
    present = {"service": {"ORD-1", "ORD-2"}, "monolith": {"ORD-1"}}
    assert missing_orders(["ORD-1", "ORD-2"], present) == {"monolith": ["ORD-2"]}
    assert missing_orders(["ORD-1"], present) == {}


def test_the_ledger_counts_an_order_acknowledged_twice_once_and_settles_unknown_outcomes() -> None:
    ledger = CheckoutLedger()
    ledger.add(_order("ann", "k1", "ORD-1", {1: 2, 2: 1}))
    ledger.add(Checkout("bob", "k2", None, error="ReadError"))  # the service died under it
    ledger.add(Checkout("cid", "k3", None, error="http 502"))
    ledger.add(_order("ann", "k4", "ORD-2", {1: 1}))
    assert [entry.key for entry in ledger.unknown] == ["k2", "k3"]
    ledger.add(_order("bob", "k2", "ORD-3", {2: 2}))  # asked again under its key: it had been placed
    ledger.add(_order("ann", "k4", "ORD-2", {1: 1}))  # a replay of the same order
    assert [entry.key for entry in ledger.unknown] == ["k3"]
    assert ledger.units() == {1: 3, 2: 3}
    assert ledger.order_numbers() == ["ORD-1", "ORD-2", "ORD-3"]


def _response(status: int, body: object) -> httpx2.Response:
    return httpx2.Response(status, headers={"content-type": "application/json"}, content=json.dumps(body))


def test_answers_are_judged_acknowledged_refused_or_unknown() -> None:
    placed = judge_checkout(
        "ann",
        "k",
        _response(201, {"order_no": "ORD-9", "lines": [{"product_id": 4, "quantity": 2}]}),
    )
    assert placed.acknowledged and placed.units == {4: 2}
    out_of_stock = judge_checkout(
        "ann", "k", _response(409, {"error": {"code": "insufficient_stock", "message": "0 left"}})
    )
    assert out_of_stock.status == 409 and out_of_stock.error == "insufficient_stock"
    crashed = judge_checkout("ann", "k", _response(500, {"error": {"code": "internal_error"}}))
    assert crashed.status is None and crashed.error == "http 500 internal_error"
    not_sent = judge_checkout("ann", "k", _response(502, {"error": "upstream_unreachable"}))
    assert not_sent.status == 502 and not not_sent.acknowledged  # refused: it reached no side
    broken = judge_checkout("ann", "k", _response(502, {"error": "upstream_reset"}))
    assert broken.status is None  # unknown: the service may have placed the order before it died
    assert judge_checkout("ann", "k", None, "ReadTimeout").status is None
    no_lines = judge_checkout("ann", "k", _response(201, {"order_no": "ORD-1", "lines": []}))
    assert not no_lines.acknowledged


def test_the_summary_line_fails_on_any_violation(tmp_path: Path) -> None:
    pace = load_rate(Capacity(9.0, 27, 1, 3.0, 4, what="checkouts"), 0.5)
    result = CrashResult(started=0.0, older_than_s=3.0, customers=4, acknowledged=12, pace=pace)
    assert result.passed
    assert result.line() == (
        "drill orders-crash: acknowledged=12 lost_writes=0 oversold=0 unfinished=0 held=0 unknown=0 "
        "older_than_s=3 capacity_rps=9.0 rate_rps=4.5"
    )
    for violation in ("lost_writes", "oversold", "held", "unfinished", "unreleased"):
        failing = CrashResult(started=0.0, older_than_s=3.0, customers=4, acknowledged=12)
        setattr(failing, violation, 1)
        assert not failing.passed, violation
    report = write_crash_report(result, tmp_path)
    text = report.read_text()
    assert "`--older-than 3`" in text and text.rstrip().endswith(result.line())
    assert "| measured capacity of the route (at the start of the drill) | 9.0 req/s (27 checkouts" in text
    assert "| load rate | 4.5 req/s (50% of the measured capacity) |" in text


def test_the_repository_drills_its_orders_service() -> None:
    project = load_project(ROOT / "strangler.toml")
    assert project.drills is not None and project.drills.crash is not None
    crash = project.drills.crash
    assert crash.upstream == "orders" and "{older_than}" in crash.recovery


def test_a_crash_section_without_password_is_refused() -> None:
    with pytest.raises(ValidationError, match="password"):
        DrillCrashSection.model_validate(
            {
                "match": {"kind": "prefix", "path": "/api/orders"},
                "upstream": "orders",
                "users": "customer{n}",
                "cart": "/cart",
                "empty_cart": "/cart",
                "checkout": "/api/orders",
                "order": "/api/orders/{order_no}",
                "stock": "/api/products/{id}",
                "products": [1],
                "recovery": "worker",
                "pending": "pending",
            }
        )


def test_the_crash_drill_without_a_crash_section_says_what_to_add(tmp_path: Path) -> None:
    text = (ROOT / "strangler.toml").read_text()
    start = text.index("[drills.crash]")
    end = text.index("\n[", start + 1)
    config = tmp_path / "strangler.toml"
    config.write_text(text[:start] + text[end:])
    result = CliRunner().invoke(app, ["drill", "orders-crash", "--config", str(config)])
    assert result.exit_code == 1
    assert "[drills.crash]" in result.output, result.output
