"""Translators legacy order -> OrderRecord: round trips (hypothesis) and clear errors on malformed data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, insert

from acl.catalog.legacy_schema import legacy_metadata, tbl_category, tbl_product
from acl.errors import ACLError, LegacyDataError
from acl.orders import (
    LegacyReferenceReader,
    LegacyReferences,
    OrderLineRecord,
    OrderRecord,
    OrderStatus,
    ProductReference,
    order_from_legacy_payload,
    order_from_legacy_row,
    order_to_legacy_payload,
    referenced_ids,
)
from acl.orders.legacy_schema import legacy_orders_metadata, tbl_customer
from acl.timezones import is_nonexistent
from tests.unit.acl.legacy_db import legacy_row

pytestmark = pytest.mark.unit

REFERENCES = LegacyReferences(
    customers={5: 41},
    products={3: ProductReference("LS-000003", "Oak knife"), 9: ProductReference("LS-000009", "Pan")},
)
PAYLOAD: dict[str, Any] = {
    "ord_id": 42,
    "ord_no": "ORD-20260301-000042",
    "cust_id": 5,
    "ord_sts": "P",
    "tot_amt": "44.70",
    "ord_dt": "2026-03-01T10:15:00",
    "lines": [
        {"line_id": 100, "prd_id": 3, "qty": 2, "unit_prc": "19.90"},
        {"line_id": 101, "prd_id": 9, "qty": 1, "unit_prc": "4.90"},
    ],
}


def test_legacy_payload_to_record() -> None:
    assert order_from_legacy_payload(PAYLOAD, REFERENCES) == OrderRecord(
        order_no="ORD-20260301-000042",
        customer_user_id=41,
        status=OrderStatus.PAID,
        ordered_at=datetime(2026, 3, 1, 9, 15, tzinfo=UTC),
        lines=(
            OrderLineRecord(3, "LS-000003", "Oak knife", 2, Decimal("19.90")),
            OrderLineRecord(9, "LS-000009", "Pan", 1, Decimal("4.90")),
        ),
        total=Decimal("44.70"),
    )


def test_legacy_rows_from_the_database_translate_too() -> None:
    row = {key: value for key, value in PAYLOAD.items() if key != "lines"}
    row["ord_dt"] = datetime(2026, 7, 1, 10, 15)  # summer time: +02:00
    record = order_from_legacy_row(row, PAYLOAD["lines"], REFERENCES)
    assert record.ordered_at == datetime(2026, 7, 1, 8, 15, tzinfo=UTC)
    assert [line.product_id for line in record.lines] == [3, 9]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ord_id", 0),
        ("ord_id", "42"),
        ("ord_no", ""),
        ("ord_no", "ORD 1"),
        ("ord_no", "O" * 31),
        ("ord_no", None),
        ("cust_id", True),
        ("cust_id", 6),  # no such customer
        ("ord_sts", "X"),
        ("ord_sts", "n"),
        ("ord_sts", None),
        ("tot_amt", "44.7"),
        ("tot_amt", "44,70"),
        ("tot_amt", 44.70),
        ("tot_amt", "-44.70"),
        ("tot_amt", "44.80"),  # not the sum of the lines
        ("ord_dt", "yesterday"),
        ("ord_dt", "2026-03-01T10:15:00+01:00"),
        ("ord_dt", 1772356500),
        ("lines", []),
        ("lines", "none"),
        ("lines", None),
    ],
)
def test_malformed_orders_are_refused_with_the_field_named(field: str, value: object) -> None:
    with pytest.raises(LegacyDataError) as caught:
        order_from_legacy_payload({**PAYLOAD, field: value}, REFERENCES)
    assert caught.value.field == field
    assert isinstance(caught.value, ACLError)


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("qty", 0, "lines[1].qty"),
        ("qty", "1", "lines[1].qty"),
        ("prd_id", 77, "lines[1].prd_id"),  # no such product
        ("prd_id", -1, "lines[1].prd_id"),
        ("unit_prc", "4.9", "lines[1].unit_prc"),
        ("unit_prc", None, "lines[1].unit_prc"),
    ],
)
def test_malformed_lines_are_refused_with_the_line_named(field: str, value: object, named: str) -> None:
    lines = [PAYLOAD["lines"][0], {**PAYLOAD["lines"][1], field: value}]
    with pytest.raises(LegacyDataError) as caught:
        order_from_legacy_payload({**PAYLOAD, "lines": lines}, REFERENCES)
    assert caught.value.field == named


def test_missing_keys_and_blank_product_names_are_named() -> None:
    payload = dict(PAYLOAD)
    del payload["tot_amt"]
    with pytest.raises(LegacyDataError, match="tot_amt"):
        order_from_legacy_payload(payload, REFERENCES)
    with pytest.raises(LegacyDataError, match="lines"):
        order_from_legacy_payload({k: v for k, v in PAYLOAD.items() if k != "lines"}, REFERENCES)
    with pytest.raises(LegacyDataError, match=r"lines\[0\]\.qty"):
        order_from_legacy_payload({**PAYLOAD, "lines": [{"prd_id": 3, "unit_prc": "1.00"}]}, REFERENCES)
    blank = LegacyReferences(
        customers={5: 41}, products={3: ProductReference("LS-3", " "), 9: REFERENCES.products[9]}
    )
    with pytest.raises(LegacyDataError) as caught:
        order_from_legacy_payload(PAYLOAD, blank)
    assert caught.value.field == "lines[0].prd_nm"
    with pytest.raises(LegacyDataError):
        order_from_legacy_payload(["not", "an", "object"], REFERENCES)  # type: ignore[arg-type]


def test_referenced_ids_skip_what_the_translator_will_refuse() -> None:
    malformed = {"cust_id": "5", "lines": [{"prd_id": True}, "x", {"prd_id": 4}]}
    assert referenced_ids([PAYLOAD, malformed, "junk"]) == ({5}, {3, 4, 9})  # type: ignore[list-item]


def test_the_reader_resolves_customers_and_products_from_the_legacy_tables(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'legacy.sqlite3'}")
    legacy_metadata.create_all(engine)
    legacy_orders_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(tbl_category), [{"ctg_id": 3, "ctg_nm": "Knives", "parent_id": None, "cat_path": "Knives"}]
        )
        connection.execute(insert(tbl_product), [legacy_row(3, cat_path="Knives"), legacy_row(9)])
        connection.execute(insert(tbl_customer), [{"cust_id": 5, "user_id": 41, "cust_nm": "Ann"}])
    try:
        resolved = LegacyReferenceReader(engine).resolve({5, 6}, {3, 9, 10})
    finally:
        engine.dispose()
    assert resolved.customers == {5: 41}
    assert resolved.products == {
        3: ProductReference("LS-000003", "Product 3"),
        9: ProductReference("LS-000009", "Product 9"),
    }
    assert LegacyReferenceReader(engine).resolve(set(), set()) == LegacyReferences()


# --- round trips --------------------------------------------------------------------------------------

prices = st.from_regex(r"(0|[1-9][0-9]{0,5})\.[0-9]{2}", fullmatch=True)
local_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1))
product_ids = st.integers(min_value=1, max_value=2**31 - 1)
legacy_lines = st.lists(
    st.fixed_dictionaries(
        {"prd_id": product_ids, "qty": st.integers(min_value=1, max_value=99), "unit_prc": prices}
    ),
    min_size=1,
    max_size=6,
)


@st.composite
def legacy_orders(draw: st.DrawFn) -> tuple[dict[str, Any], LegacyReferences]:
    lines = draw(legacy_lines)
    for index, line in enumerate(lines):
        line["line_id"] = 1000 + index
    total = sum((Decimal(line["unit_prc"]) * line["qty"] for line in lines), Decimal("0.00"))
    cust_id = draw(st.integers(min_value=1, max_value=10**6))
    payload = {
        "ord_id": draw(st.integers(min_value=1, max_value=2**31 - 1)),
        "ord_no": draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,29}", fullmatch=True)),
        "cust_id": cust_id,
        "ord_sts": draw(st.sampled_from("NPSC")),
        "tot_amt": f"{total:.2f}",
        "ord_dt": draw(local_times).isoformat(),
        "lines": [{key: line[key] for key in ("line_id", "prd_id", "qty", "unit_prc")} for line in lines],
    }
    references = LegacyReferences(
        customers={cust_id: draw(st.integers(min_value=1, max_value=10**6))},
        products={
            line["prd_id"]: ProductReference(f"LS-{line['prd_id']}", f"Product {line['prd_id']}")
            for line in lines
        },
    )
    return payload, references


@settings(deadline=None)  # wall-clock limits flake on a loaded machine
@given(legacy_orders())
def test_legacy_payloads_round_trip(drawn: tuple[dict[str, Any], LegacyReferences]) -> None:
    payload, references = drawn
    record = order_from_legacy_payload(payload, references)
    back = order_to_legacy_payload(
        record,
        ord_id=payload["ord_id"],
        cust_id=payload["cust_id"],
        line_ids=[line["line_id"] for line in payload["lines"]],
    )
    local = datetime.fromisoformat(payload["ord_dt"])
    if is_nonexistent(local):  # the one documented exception: a gap time reads back an hour later
        assert datetime.fromisoformat(back["ord_dt"]) - local == timedelta(hours=1)
        back["ord_dt"] = payload["ord_dt"]
    assert back == payload
    assert order_from_legacy_payload(back, references) == record


@settings(deadline=None)
@given(legacy_orders())
def test_records_are_consistent(drawn: tuple[dict[str, Any], LegacyReferences]) -> None:
    payload, references = drawn
    record = order_from_legacy_payload(payload, references)
    assert record.total == sum((line.line_total for line in record.lines), Decimal(0))
    assert record.total.as_tuple().exponent == -2
    assert record.ordered_at.tzinfo is not None and record.ordered_at.utcoffset() == timedelta(0)
    assert record.customer_user_id == references.customers[payload["cust_id"]]
    assert [line.quantity for line in record.lines] == [line["qty"] for line in payload["lines"]]
