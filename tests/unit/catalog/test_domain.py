"""Value objects and the Product entity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from new_services.catalog.domain import (
    CategoryPath,
    InsufficientStock,
    InvalidValue,
    Money,
    Sku,
    Status,
    Stock,
)
from tests.unit.catalog.builders import make_product

pytestmark = pytest.mark.unit


def test_money_is_decimal_with_two_places() -> None:
    assert str(Money.of("19.9")) == "19.90"
    assert Money.of("19.90").minor_units == 1990
    assert Money.from_minor_units(1990) == Money(Decimal("19.90"), "EUR")
    assert Money.of(5).amount == Decimal("5.00")


@pytest.mark.parametrize("amount", [19.9, "abc", "-1", "1.999", "NaN", "Infinity"])
def test_money_refuses_floats_negatives_and_sub_cent_amounts(amount: object) -> None:
    with pytest.raises(InvalidValue):
        Money.of(amount)  # type: ignore[arg-type]


def test_money_currency_is_an_iso_code() -> None:
    with pytest.raises(InvalidValue):
        Money(Decimal("1.00"), "euro")


@pytest.mark.parametrize("value", ["LS-000123", "A", "ABC-9-Z"])
def test_valid_skus(value: str) -> None:
    assert str(Sku(value)) == value


@pytest.mark.parametrize("value", ["", "ls-1", "-AB", "AB-", "A B", "X" * 33])
def test_invalid_skus(value: str) -> None:
    with pytest.raises(InvalidValue):
        Sku(value)


def test_category_path_segments_and_ancestry() -> None:
    path = CategoryPath.parse("Home>Kitchen>Knives")
    assert path.segments == ("Home", "Kitchen", "Knives")
    assert str(path) == "Home>Kitchen>Knives"
    assert path.is_within("Home") and path.is_within("Home>Kitchen>Knives")
    assert not path.is_within("Home>Kit")
    assert not path.is_within("Home>Kitchen>Knives>Small")


@pytest.mark.parametrize("text", ["", "Home>", ">Home", "Home> Kitchen", "A" * 256])
def test_invalid_category_paths(text: str) -> None:
    with pytest.raises(InvalidValue):
        CategoryPath.parse(text)


def test_stock_reserve_and_release_return_new_values() -> None:
    stock = Stock(5)
    assert stock.reserve(2) == Stock(3)
    assert stock.release(1) == Stock(6)
    assert stock == Stock(5)
    with pytest.raises(InsufficientStock) as caught:
        stock.reserve(6)
    assert (caught.value.requested, caught.value.available) == (6, 5)


@pytest.mark.parametrize("value", [-1, 1.5, True, "3"])
def test_stock_is_a_non_negative_whole_number(value: object) -> None:
    with pytest.raises(InvalidValue):
        Stock(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("units", [0, -1, 2.0])
def test_stock_movements_are_positive(units: object) -> None:
    with pytest.raises(InvalidValue):
        Stock(3).reserve(units)  # type: ignore[arg-type]


def test_product_changes_touch_updated_at_in_utc() -> None:
    product = make_product(1, stock=4)
    later = datetime(2025, 1, 1, 12, 0, tzinfo=UTC) + timedelta(hours=1)
    product.reserve(3, now=later.astimezone())
    assert product.stock == Stock(1) and product.updated_at == later
    assert product.updated_at.tzinfo is UTC
    product.release(2, now=later)
    product.set_stock(10, now=later)
    assert product.stock == Stock(10)


def test_product_identity_and_invariants() -> None:
    assert make_product(1) == make_product(1, name="Other")
    assert make_product(1) != make_product(2)
    assert len({make_product(1), make_product(1)}) == 1
    with pytest.raises(InvalidValue, match="aware"):
        make_product(1, created_at=datetime(2020, 1, 1))
    with pytest.raises(InvalidValue):
        make_product(0)
    with pytest.raises(InvalidValue):
        make_product(1, name="")
    with pytest.raises(InvalidValue):
        make_product(1, status="active")
    assert make_product(1, status=Status.DISCONTINUED).status is Status.DISCONTINUED
