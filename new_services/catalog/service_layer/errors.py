"""Errors the use cases raise; the entrypoints map them to HTTP statuses."""

from __future__ import annotations

__all__ = ["NegativeStock", "PageOutOfRange", "ProductNotFound", "ServiceError"]


class ServiceError(Exception):
    """A use case could not be carried out."""


class ProductNotFound(ServiceError):
    def __init__(self, product_id: int) -> None:
        super().__init__(f"Product {product_id} does not exist.")
        self.product_id = product_id


class PageOutOfRange(ServiceError):
    def __init__(self, page: int, num_pages: int) -> None:
        super().__init__(f"Page {page} is out of range (there are {num_pages} pages).")
        self.page = page
        self.num_pages = num_pages


class NegativeStock(ServiceError):
    """A stock change would leave the product below zero units; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field
