"""The orders side of the ACL: order records, pure translators from the monolith's order rows and
outbox payloads, and the reader that resolves what a legacy order points at (customer, products)."""

from acl.orders.records import CURRENCY, OrderLineRecord, OrderRecord, OrderStatus
from acl.orders.references import LegacyReferenceReader, LegacyReferences, ProductReference, referenced_ids
from acl.orders.session_cart import (
    CART_SESSION_KEY,
    EMPTY_CART,
    cart_after_checkout,
    cart_quantities_from_session,
)
from acl.orders.translators import (
    decode_order_status,
    encode_order_status,
    order_from_legacy_payload,
    order_from_legacy_row,
    order_to_legacy_payload,
)

__all__ = [
    "CART_SESSION_KEY",
    "CURRENCY",
    "EMPTY_CART",
    "LegacyReferenceReader",
    "LegacyReferences",
    "OrderLineRecord",
    "OrderRecord",
    "OrderStatus",
    "ProductReference",
    "cart_after_checkout",
    "cart_quantities_from_session",
    "decode_order_status",
    "encode_order_status",
    "order_from_legacy_payload",
    "order_from_legacy_row",
    "order_to_legacy_payload",
    "referenced_ids",
]
