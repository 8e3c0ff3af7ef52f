"""Use cases of the catalog: queries (list, get) and commands (set or adjust stock) over a unit of work."""

from new_services.catalog.service_layer.commands import adjust_stock, change_product, set_stock
from new_services.catalog.service_layer.criteria import SORT_KEYS, ProductCriteria
from new_services.catalog.service_layer.errors import (
    NegativeStock,
    PageOutOfRange,
    ProductNotFound,
    ServiceError,
)
from new_services.catalog.service_layer.queries import Page, get_product, list_categories, list_products
from new_services.catalog.service_layer.unit_of_work import AbstractUnitOfWork, ShadowUnitOfWork

__all__ = [
    "SORT_KEYS",
    "AbstractUnitOfWork",
    "NegativeStock",
    "Page",
    "PageOutOfRange",
    "ProductCriteria",
    "ProductNotFound",
    "ServiceError",
    "ShadowUnitOfWork",
    "adjust_stock",
    "change_product",
    "get_product",
    "list_categories",
    "list_products",
    "set_stock",
]
