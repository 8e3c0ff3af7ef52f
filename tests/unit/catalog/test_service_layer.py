"""Use cases on the in-memory unit of work: listing, lookup, categories, stock commands, backfill sink."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from acl.catalog import product_from_legacy_row
from new_services.catalog.adapters.memory_repository import InMemoryUnitOfWork
from new_services.catalog.domain import Money, Status, Stock
from new_services.catalog.service_layer import (
    NegativeStock,
    PageOutOfRange,
    ProductCriteria,
    ProductNotFound,
    adjust_stock,
    get_product,
    list_categories,
    list_products,
    set_stock,
)
from new_services.catalog.service_layer.backfill import CatalogProductSink, product_from_record
from new_services.catalog.service_layer.records import record_from_product
from new_services.catalog.service_layer.unit_of_work import ShadowUnitOfWork
from tests.unit.catalog.builders import make_product

pytestmark = pytest.mark.unit

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def uow() -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork(
        [
            make_product(1, name="Oak knife", price="9.99", category="Home>Kitchen>Knives"),
            make_product(2, name="Bamboo spoon", price="3.50", category="Home>Kitchen>Utensils"),
            make_product(3, name="Oak knife", price="15.00", category="Home>Kitchenware"),
            make_product(4, name="Lamp", price="25.00", category="Home>Living", status=Status.DISCONTINUED),
            make_product(5, name="Tent", price="199.00", category="Outdoor>Camping"),
        ]
    )


def ids(uow: InMemoryUnitOfWork, **criteria: object) -> list[int]:
    page = list_products(uow, ProductCriteria(**criteria), page=1, page_size=100)  # type: ignore[arg-type]
    return [product.id for product in page.items]


def test_filters(uow: InMemoryUnitOfWork) -> None:
    assert ids(uow, q="OAK") == [1, 3]
    assert ids(uow, q="ls-000002") == [2]
    assert ids(uow, category="Home>Kitchen") == [1, 2]  # not Home>Kitchenware
    assert ids(uow, category="Home") == [1, 2, 3, 4]
    assert ids(uow, status=Status.DISCONTINUED) == [4]
    assert ids(uow, min_price=Decimal("9.99"), max_price=Decimal("25")) == [1, 3, 4]
    assert ids(uow, q="oak", max_price=Decimal("10")) == [1]


def test_sorts_break_ties_by_id_in_the_same_direction(uow: InMemoryUnitOfWork) -> None:
    assert ids(uow, sort="name") == [2, 4, 1, 3, 5]
    assert ids(uow, sort="-name") == [5, 3, 1, 4, 2]
    assert ids(uow, sort="price") == [2, 1, 3, 4, 5]
    assert ids(uow, sort="-price") == [5, 4, 3, 1, 2]
    assert ids(uow, sort="-sku") == [5, 4, 3, 2, 1]


def test_unknown_sort_is_refused() -> None:
    with pytest.raises(ValueError, match="sort"):
        ProductCriteria(sort="-id")


def test_pagination(uow: InMemoryUnitOfWork) -> None:
    page = list_products(uow, ProductCriteria(), page=2, page_size=2)
    assert [p.id for p in page.items] == [3, 4]
    assert (page.count, page.num_pages, page.has_previous, page.has_next) == (5, 3, True, True)
    with pytest.raises(PageOutOfRange) as caught:
        list_products(uow, ProductCriteria(), page=4, page_size=2)
    assert (caught.value.page, caught.value.num_pages) == (4, 3)


def test_an_empty_result_still_has_one_page(uow: InMemoryUnitOfWork) -> None:
    page = list_products(uow, ProductCriteria(q="nothing"), page=1, page_size=20)
    assert (page.count, page.num_pages, list(page.items)) == (0, 1, [])


def test_get_product(uow: InMemoryUnitOfWork) -> None:
    assert get_product(uow, 5).name == "Tent"
    with pytest.raises(ProductNotFound, match=r"Product 99 does not exist\."):
        get_product(uow, 99)


def test_categories_include_every_ancestor(uow: InMemoryUnitOfWork) -> None:
    assert list_categories(uow) == [
        "Home",
        "Home>Kitchen",
        "Home>Kitchen>Knives",
        "Home>Kitchen>Utensils",
        "Home>Kitchenware",
        "Home>Living",
        "Outdoor",
        "Outdoor>Camping",
    ]


def test_stock_commands_commit_and_touch(uow: InMemoryUnitOfWork) -> None:
    product = set_stock(uow, 1, 7, clock=lambda: NOW)
    assert uow.committed and product.stock == Stock(7)
    assert adjust_stock(uow, 1, -3, clock=lambda: NOW).stock == Stock(4)
    assert adjust_stock(uow, 1, 2, clock=lambda: NOW).stock == Stock(6)
    assert get_product(uow, 1).stock == Stock(6) and get_product(uow, 1).updated_at == NOW


def test_stock_commands_refuse_impossible_changes(uow: InMemoryUnitOfWork) -> None:
    before = get_product(uow, 2).stock
    with pytest.raises(NegativeStock):
        adjust_stock(uow, 2, -(before.quantity + 1))
    assert get_product(uow, 2).stock == before
    with pytest.raises(NegativeStock, match="quantity must not be negative"):
        set_stock(uow, 2, -1)
    assert get_product(uow, 2).stock == before and uow.stock_changes == []
    with pytest.raises(ProductNotFound):
        set_stock(uow, 42, 1)


def test_stock_commands_announce_each_change_in_their_unit_of_work(uow: InMemoryUnitOfWork) -> None:
    set_stock(uow, 1, 7, clock=lambda: NOW)
    adjust_stock(uow, 1, 0, clock=lambda: NOW)
    assert [(p.id, p.stock.quantity) for p in uow.stock_changes] == [(1, 7), (1, 7)]


def test_shadow_unit_of_work_rolls_back_instead_of_committing(uow: InMemoryUnitOfWork) -> None:
    shadow = ShadowUnitOfWork(uow)
    product = set_stock(shadow, 1, 9, clock=lambda: NOW)
    assert product.stock == Stock(9) and not uow.committed


def test_backfill_sink_upserts_records_as_domain_products() -> None:
    uow = InMemoryUnitOfWork([make_product(1, name="Old name")])
    legacy = {
        "prd_id": 1,
        "prd_cd": "LS-000001",
        "prd_nm": "New name",
        "prd_desc": "",
        "unit_prc": "19.90",
        "stk_qty": 3,
        "sts_cd": "D",
        "cat_path": "Home>Kitchen",
        "crt_dt": datetime(2016, 3, 1, 10, 0),
        "upd_dt": datetime(2016, 3, 2, 10, 0),
    }
    records = [
        product_from_legacy_row(legacy),
        product_from_legacy_row({**legacy, "prd_id": 2, "prd_cd": "X2"}),
    ]
    assert CatalogProductSink(lambda: uow).write(records) == 2
    product = get_product(uow, 1)
    assert (product.name, product.price, product.status) == (
        "New name",
        Money.of("19.90"),
        Status.DISCONTINUED,
    )
    assert product.created_at == datetime(2016, 3, 1, 9, 0, tzinfo=UTC)
    assert product_from_record(records[1]).sku.value == "X2"


def test_records_and_products_translate_both_ways() -> None:
    product = make_product(8, price="12.30", category="Home>Kitchen", status=Status.DISCONTINUED)
    record = record_from_product(product)
    assert (record.price, record.category, record.status.value) == (
        Decimal("12.30"),
        ("Home", "Kitchen"),
        "discontinued",
    )
    back = product_from_record(record)
    assert [getattr(back, f) for f in ("sku", "price", "stock", "category", "created_at")] == [
        getattr(product, f) for f in ("sku", "price", "stock", "category", "created_at")
    ]
