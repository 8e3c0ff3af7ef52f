"""Translators legacy <-> ProductRecord: round trips (hypothesis) and clear errors on malformed data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acl.catalog import (
    ProductRecord,
    ProductStatus,
    product_from_legacy_json,
    product_from_legacy_row,
    product_to_legacy_json,
    product_to_legacy_row,
)
from acl.errors import ACLError, LegacyDataError
from acl.timezones import is_ambiguous, is_nonexistent

pytestmark = pytest.mark.unit

ROW: dict[str, Any] = {
    "prd_id": 17,
    "prd_cd": "LS-000017",
    "prd_nm": "Classic oak knife 12",
    "prd_desc": "A knife.",
    "unit_prc": "19.90",
    "stk_qty": 12,
    "sts_cd": "A",
    "ctg_id": 4,
    "cat_path": "Home>Kitchen>Knives",
    "crt_dt": datetime(2016, 3, 1, 10, 0, 0),
    "upd_dt": datetime(2016, 7, 1, 10, 0, 0),
}


def test_legacy_row_to_record() -> None:
    record = product_from_legacy_row(ROW)
    assert record == ProductRecord(
        id=17,
        sku="LS-000017",
        name="Classic oak knife 12",
        description="A knife.",
        price=Decimal("19.90"),
        stock=12,
        status=ProductStatus.ACTIVE,
        category=("Home", "Kitchen", "Knives"),
        created_at=datetime(2016, 3, 1, 9, 0, tzinfo=UTC),
        updated_at=datetime(2016, 7, 1, 8, 0, tzinfo=UTC),
    )
    assert record.category_path == "Home>Kitchen>Knives"


def test_record_to_legacy_json_is_the_monolith_shape() -> None:
    document = product_to_legacy_json(product_from_legacy_row(ROW))
    assert list(document) == [
        "id", "sku", "name", "description", "price", "currency", "stock", "status", "category",
        "created_at", "updated_at",
    ]  # fmt: skip
    assert document["price"] == "19.90"
    assert document["status"] == "active"
    assert document["created_at"] == "2016-03-01T10:00:00+01:00"
    assert document["updated_at"] == "2016-07-01T10:00:00+02:00"


def test_legacy_timestamps_may_come_as_sqlite_text() -> None:
    record = product_from_legacy_row({**ROW, "crt_dt": "2016-03-01 10:00:00.250000"})
    assert record.created_at == datetime(2016, 3, 1, 9, 0, 0, 250000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("unit_prc", "19.9"),
        ("unit_prc", "19,90"),
        ("unit_prc", "19.901"),
        ("unit_prc", "-1.00"),
        ("unit_prc", "1e3"),
        ("unit_prc", 19.9),
        ("unit_prc", None),
        ("sts_cd", "X"),
        ("sts_cd", "a"),
        ("stk_qty", -1),
        ("stk_qty", "12"),
        ("stk_qty", True),
        ("prd_id", 0),
        ("prd_cd", "ls-1"),
        ("prd_cd", ""),
        ("prd_nm", "   "),
        ("prd_nm", "x" * 201),
        ("prd_desc", None),
        ("cat_path", ""),
        ("cat_path", "Home>>Knives"),
        ("cat_path", "Home> Kitchen"),
        ("crt_dt", "yesterday"),
        ("crt_dt", 1456822800),
        ("upd_dt", datetime(2016, 3, 1, tzinfo=UTC)),
    ],
)
def test_malformed_legacy_values_are_refused_with_the_field_named(column: str, value: object) -> None:
    with pytest.raises(LegacyDataError) as caught:
        product_from_legacy_row({**ROW, column: value})
    assert caught.value.field == column
    assert isinstance(caught.value, ACLError)
    assert caught.value.value == value


def test_missing_columns_are_named() -> None:
    row = dict(ROW)
    del row["unit_prc"]
    with pytest.raises(LegacyDataError, match="unit_prc"):
        product_from_legacy_row(row)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("price", "19.9"),
        ("status", "A"),
        ("currency", "USD"),
        ("created_at", "2016-03-01T10:00:00"),
        ("created_at", 0),
        ("category", ""),
        ("stock", -3),
    ],
)
def test_malformed_legacy_json_is_refused(key: str, value: object) -> None:
    document = product_to_legacy_json(product_from_legacy_row(ROW))
    with pytest.raises(LegacyDataError) as caught:
        product_from_legacy_json({**document, key: value})
    assert caught.value.field == key


def test_legacy_json_must_be_an_object_with_every_key() -> None:
    with pytest.raises(LegacyDataError):
        product_from_legacy_json([1, 2])  # type: ignore[arg-type]
    document = product_to_legacy_json(product_from_legacy_row(ROW))
    del document["sku"]
    with pytest.raises(LegacyDataError, match="sku"):
        product_from_legacy_json(document)


# --- round trips --------------------------------------------------------------------------------------

segment = st.text(
    alphabet=st.characters(categories=("L", "N"), include_characters=" &-"), min_size=1, max_size=12
)
segments = st.lists(segment.map(str.strip).filter(bool), min_size=1, max_size=4).map(tuple)
local_seconds = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)).map(
    lambda moment: moment.replace(microsecond=0)
)
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)

legacy_rows = st.fixed_dictionaries(
    {
        "prd_id": st.integers(min_value=1, max_value=2**31 - 1),
        "prd_cd": st.from_regex(r"LS-[0-9]{6}", fullmatch=True),
        "prd_nm": texts.filter(lambda name: name.strip() != ""),
        "prd_desc": texts,
        "unit_prc": st.from_regex(r"(0|[1-9][0-9]{0,8})\.[0-9]{2}", fullmatch=True),
        "stk_qty": st.integers(min_value=0, max_value=10**6),
        "sts_cd": st.sampled_from(["A", "D"]),
        "ctg_id": st.integers(min_value=1, max_value=500),
        "cat_path": segments.map(">".join).filter(lambda path: len(path) <= 255),
        "crt_dt": local_seconds,
        "upd_dt": local_seconds,
    }
)


@settings(deadline=None)  # wall-clock limits flake on a loaded machine
@given(legacy_rows)
def test_legacy_rows_round_trip(row: dict[str, Any]) -> None:
    record = product_from_legacy_row(row)
    back = product_to_legacy_row(record, category_id=row["ctg_id"])
    for column in ("crt_dt", "upd_dt"):
        local = row[column]
        if is_nonexistent(local):  # the one documented exception: a gap time reads back an hour later
            assert back[column] - local == timedelta(hours=1)
            back[column] = local
    assert back == row


@settings(deadline=None)  # wall-clock limits flake on a loaded machine
@given(legacy_rows)
def test_legacy_json_round_trips_through_records(row: dict[str, Any]) -> None:
    record = product_from_legacy_row(row)
    assert product_from_legacy_json(product_to_legacy_json(record)) == record


@settings(deadline=None)  # wall-clock limits flake on a loaded machine
@given(legacy_rows)
def test_json_times_keep_the_wall_clock_unless_it_is_in_a_gap(row: dict[str, Any]) -> None:
    document = product_to_legacy_json(product_from_legacy_row(row))
    local = row["crt_dt"]
    if not is_nonexistent(local):
        assert document["created_at"][:19] == local.isoformat()
        offset = document["created_at"][19:]
        assert offset in ("+01:00", "+02:00")
        if is_ambiguous(local):
            assert offset == "+02:00"


def test_the_cart_after_a_checkout_keeps_only_what_was_not_ordered() -> None:
    from acl.orders import cart_after_checkout

    data = {"cart": {"1": 3, "2": 1, "5": 2, "x": 4, "6": 0}}
    assert cart_after_checkout(data, {1: 2, 2: 1, 5: 3}) == {"1": 1}
    assert cart_after_checkout({"cart": {"2": 1, "10": 1}}, {}) == {"2": 1, "10": 1}
    assert cart_after_checkout({}, {1: 1}) == {}
