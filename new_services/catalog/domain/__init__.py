"""The catalog's domain model: it knows nothing of the legacy schema, of JSON or of any database."""

from new_services.catalog.domain.category import CategoryPath
from new_services.catalog.domain.errors import DomainError, InsufficientStock, InvalidValue
from new_services.catalog.domain.money import Money
from new_services.catalog.domain.product import Product
from new_services.catalog.domain.sku import Sku
from new_services.catalog.domain.status import Status
from new_services.catalog.domain.stock import Stock

__all__ = [
    "CategoryPath",
    "DomainError",
    "InsufficientStock",
    "InvalidValue",
    "Money",
    "Product",
    "Sku",
    "Status",
    "Stock",
]
