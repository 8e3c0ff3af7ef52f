"""The shopping cart, kept in the session as {"<product id>": quantity}."""

from dataclasses import dataclass
from decimal import Decimal

from legacy_monolith.catalog.models import Product

MAX_LINE_QUANTITY = 99


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def unit_price(self):
        return self.product.price

    @property
    def line_total(self):
        return self.product.price * self.quantity


class Cart:
    SESSION_KEY = "cart"

    def __init__(self, session):
        self.session = session

    def quantities(self):
        """{product id: quantity}, ignoring anything malformed an old session may hold."""
        stored = self.session.get(self.SESSION_KEY) or {}
        result = {}
        for key, value in stored.items():
            if str(key).isdigit() and isinstance(value, int) and value > 0:
                result[int(key)] = value
        return result

    def _store(self, quantities):
        self.session[self.SESSION_KEY] = {str(pk): qty for pk, qty in sorted(quantities.items())}
        self.session.modified = True

    def add(self, product_id, quantity):
        quantities = self.quantities()
        quantities[product_id] = min(quantities.get(product_id, 0) + quantity, MAX_LINE_QUANTITY)
        self._store(quantities)

    def set(self, product_id, quantity):
        quantities = self.quantities()
        if quantity > 0:
            quantities[product_id] = min(quantity, MAX_LINE_QUANTITY)
        else:
            quantities.pop(product_id, None)
        self._store(quantities)

    def remove(self, product_id):
        quantities = self.quantities()
        found = quantities.pop(product_id, None) is not None
        self._store(quantities)
        return found

    def replace(self, quantities):
        self._store(dict(quantities))

    def clear(self):
        self._store({})

    def count(self):
        return sum(self.quantities().values())

    def __contains__(self, product_id):
        return product_id in self.quantities()

    def lines(self):
        """One line per product still in the catalog, in product order."""
        quantities = self.quantities()
        products = Product.objects.in_bulk(list(quantities))
        return [CartLine(products[pk], qty) for pk, qty in sorted(quantities.items()) if pk in products]

    def total(self):
        return sum((line.line_total for line in self.lines()), Decimal("0.00"))
