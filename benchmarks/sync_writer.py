"""Steady writes through the monolith's service function: ``python -m benchmarks.sync_writer RATE SECONDS``.

Each write moves one product's stock by one unit (``legacy_monolith.catalog.services.product_stock_update``,
what the stock API calls): the UPDATE and its outbox event commit in one transaction, as in production.
Products are taken in turn. Prints the number of writes and how far behind schedule the writer fell.
"""

from __future__ import annotations

import os
import sys
import time


def main(rate: float, seconds: float) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legacy_monolith.legacyshop.settings")
    import django

    django.setup()
    from legacy_monolith.catalog.models import Product
    from legacy_monolith.catalog.services import product_stock_update

    products = list(Product.objects.order_by("prd_id"))
    if not products:
        print("no product to write to", file=sys.stderr)
        return 1
    total = int(rate * seconds)
    started = time.monotonic()
    worst = 0.0
    for index in range(total):
        due = started + index / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            worst = max(worst, -delay)
        product_stock_update(product=products[index % len(products)], delta=1)
    print(
        f"writes {total} in {time.monotonic() - started:.2f}s, at most {worst * 1000:.0f} ms behind schedule"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]), float(sys.argv[2])))
