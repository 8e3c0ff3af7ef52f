"""Deterministic demo data: the same seed always yields the same categories, products, customers, orders."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from legacy_monolith.catalog.models import Category, Product
from legacy_monolith.customers.models import Customer
from legacy_monolith.legacyshop.secret_key import configured_secret
from legacy_monolith.orders.models import Order, OrderLine

__all__ = ["DEMO_USER", "STAFF_USER", "SeedCounts", "seed_database", "seeded_rows", "staff_password"]

DEMO_USER = ("demo", "demo-password-123")
STAFF_USER = ("staff", "staff-password-123")
CUSTOMER_PASSWORD = "customer-password-123"


def staff_password() -> str:
    """The staff superuser's password: ``LEGACYSHOP_STAFF_PASSWORD`` (or ``_FILE``) wherever the shop is
    reachable by others (the compose stack generates one); the demo's documented one otherwise."""
    return configured_secret("LEGACYSHOP_STAFF_PASSWORD") or STAFF_USER[1]


CATEGORY_TREE = {
    "Home": {
        "Kitchen": ["Knives", "Cookware", "Bakeware", "Utensils"],
        "Living": ["Lamps", "Cushions", "Clocks"],
        "Bath": ["Towels", "Mirrors"],
    },
    "Garden": {"Tools": ["Spades", "Shears"], "Furniture": ["Chairs", "Tables"]},
    "Office": {"Paper": ["Notebooks", "Envelopes"], "Writing": ["Pens", "Pencils"]},
    "Outdoor": {"Camping": ["Tents", "Stoves"], "Cycling": ["Lights", "Locks"]},
}
ADJECTIVES = ["Classic", "Compact", "Deluxe", "Rustic", "Modern", "Sturdy", "Slim", "Heritage", "Pro", "Eco"]
MATERIALS = ["steel", "oak", "bamboo", "cotton", "ceramic", "aluminium", "linen", "walnut", "glass", "copper"]
FIRST_NAMES = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Eva",
    "Felix",
    "Greta",
    "Hannah",
    "Jonas",
    "Lena",
    "Max",
    "Nina",
]
LAST_NAMES = [
    "Becker",
    "Fischer",
    "Hoffmann",
    "Klein",
    "Koch",
    "Meyer",
    "Richter",
    "Schmidt",
    "Wagner",
    "Weber",
]
STREETS = ["Hauptstr.", "Bahnhofstr.", "Gartenweg", "Lindenallee", "Schulstr.", "Am Markt"]
CITIES = ["10115 Berlin", "20095 Hamburg", "80331 München", "50667 Köln", "60311 Frankfurt am Main"]
EPOCH = datetime(2015, 3, 2, 9, 0, 0)
LAST_SEEDED_DAY = datetime(2024, 12, 31, 18, 0, 0)


@dataclass(frozen=True)
class SeedCounts:
    categories: int
    products: int
    customers: int
    orders: int


def seeded_rows():
    """How many shop rows exist already (categories, products, customers, orders)."""
    return SeedCounts(
        Category.objects.count(), Product.objects.count(), Customer.objects.count(), Order.objects.count()
    )


def _cents_to_price(cents):
    return f"{cents // 100}.{cents % 100:02d}"


def _moment(rng, start=EPOCH, end=LAST_SEEDED_DAY):
    seconds = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randrange(seconds))


def _reset():
    OrderLine.objects.all().delete()
    Order.objects.all().delete()
    user_ids = list(Customer.objects.values_list("user_id", flat=True))
    Customer.objects.all().delete()
    user_model = get_user_model()
    user_model.objects.filter(pk__in=user_ids).delete()
    user_model.objects.filter(username__in=[DEMO_USER[0], STAFF_USER[0]]).delete()
    Product.objects.all().delete()
    # Leaves first: the parent foreign key protects.
    while Category.objects.exists():
        Category.objects.filter(children__isnull=True).delete()


def _categories():
    created = []
    for top, middles in CATEGORY_TREE.items():
        root = Category.objects.create(ctg_nm=top, cat_path=top)
        for middle, leaves in middles.items():
            mid = Category.objects.create(ctg_nm=middle, parent=root, cat_path=f"{top}>{middle}")
            created.extend(
                Category.objects.create(ctg_nm=leaf, parent=mid, cat_path=f"{top}>{middle}>{leaf}")
                for leaf in leaves
            )
    return created


def _products(rng, leaves, count):
    products = []
    for index in range(1, count + 1):
        leaf = rng.choice(leaves)
        noun = leaf.ctg_nm.rstrip("s") if leaf.ctg_nm.endswith("s") else leaf.ctg_nm
        material = rng.choice(MATERIALS)
        name = f"{rng.choice(ADJECTIVES)} {material} {noun.lower()} {rng.randint(10, 99)}"
        created = _moment(rng)
        updated = min(
            created + timedelta(days=rng.randint(0, 900), seconds=rng.randint(0, 86399)), LAST_SEEDED_DAY
        )
        products.append(
            Product(
                prd_cd=f"LS-{index:06d}",
                prd_nm=name,
                prd_desc=f"{name}, made of {material}. A {leaf.cat_path.replace('>', ' / ')} favourite.",
                unit_prc=_cents_to_price(rng.randint(99, 49999)),
                stk_qty=rng.choice([0, 1, 2, 3, 5]) if rng.random() < 0.1 else rng.randint(5, 250),
                sts_cd=Product.STATUS_DISCONTINUED if rng.random() < 0.08 else Product.STATUS_ACTIVE,
                ctg=leaf,
                cat_path=leaf.cat_path,
                crt_dt=created,
                upd_dt=updated,
            )
        )
    return Product.objects.bulk_create(products, batch_size=500)


def _customers(rng, count):
    user_model = get_user_model()
    customer_hash = make_password(CUSTOMER_PASSWORD)
    users = [
        user_model(username=DEMO_USER[0], password=make_password(DEMO_USER[1]), email="demo@example.com")
    ]
    users[0].first_name, users[0].last_name = "Demo", "Customer"
    for index in range(1, count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        users.append(
            user_model(
                username=f"customer{index:04d}",
                password=customer_hash,
                first_name=first,
                last_name=last,
                email=f"customer{index:04d}@example.com",
            )
        )
    joined = [_moment(rng) for _ in users]
    for user, moment in zip(users, joined, strict=True):
        user.date_joined = moment
    users = user_model.objects.bulk_create(users)
    # Some backends do not hand back primary keys for users created in bulk; read them back.
    by_name = dict(
        user_model.objects.filter(username__in=[u.username for u in users]).values_list("username", "pk")
    )
    customers = [
        Customer(
            user_id=by_name[user.username],
            cust_nm=f"{user.first_name} {user.last_name}",
            phone=f"+49 30 {rng.randint(1000000, 9999999)}",
            addr_txt=f"{rng.choice(STREETS)} {rng.randint(1, 120)}\n{rng.choice(CITIES)}",
            crt_dt=moment,
        )
        for user, moment in zip(users, joined, strict=True)
    ]
    return Customer.objects.bulk_create(customers)


def _orders(rng, customers, products, count):
    active = [product for product in products if product.is_active]
    statuses = (
        [Order.STATUS_SHIPPED] * 6 + [Order.STATUS_PAID] * 2 + [Order.STATUS_NEW, Order.STATUS_CANCELLED]
    )
    orders, lines_per_order = [], []
    for index in range(1, count + 1):
        customer = rng.choice(customers)
        moment = _moment(rng, start=max(customer.crt_dt, EPOCH))
        chosen = rng.sample(active, k=min(len(active), rng.randint(1, 4)))
        lines = [(product, rng.randint(1, 3)) for product in sorted(chosen, key=lambda p: p.prd_cd)]
        total = sum((product.price * qty for product, qty in lines), Decimal("0.00"))
        orders.append(
            Order(
                ord_no=f"ORD-{moment:%Y%m%d}-{index:06d}",
                cust=customer,
                ord_sts=rng.choice(statuses),
                tot_amt=str(total.quantize(Decimal("0.01"))),
                ord_dt=moment,
            )
        )
        lines_per_order.append(lines)
    orders = Order.objects.bulk_create(orders, batch_size=500)
    by_no = dict(Order.objects.filter(ord_no__in=[o.ord_no for o in orders]).values_list("ord_no", "pk"))
    OrderLine.objects.bulk_create(
        [
            OrderLine(ord_id=by_no[order.ord_no], prd=product, qty=qty, unit_prc=product.unit_prc)
            for order, lines in zip(orders, lines_per_order, strict=True)
            for product, qty in lines
        ],
        batch_size=1000,
    )
    return orders


def seed_database(*, products, customers, orders, seed, reset=False):
    """Create the demo data in one transaction; refuses when shop data exists unless ``reset``."""
    if customers < 1:
        raise ValueError("at least one customer (the demo customer) is needed")
    rng = random.Random(seed)
    with transaction.atomic():
        if reset:
            _reset()
        existing = seeded_rows()
        if existing.categories or existing.products or existing.orders:
            raise FileExistsError(
                f"the database already holds {existing.products} products, {existing.categories} categories "
                f"and {existing.orders} orders; run with --reset to replace them"
            )
        leaves = [category for category in _categories() if category.cat_path.count(">") == 2]
        created_products = _products(rng, leaves, products)
        created_customers = _customers(rng, customers)
        # Product primary keys are needed for the order lines; read them back by SKU.
        by_sku = Product.objects.in_bulk([p.prd_cd for p in created_products], field_name="prd_cd")
        created_orders = _orders(rng, created_customers, [by_sku[p.prd_cd] for p in created_products], orders)
        user_model = get_user_model()
        if not user_model.objects.filter(username=STAFF_USER[0]).exists():
            user_model.objects.create_superuser(STAFF_USER[0], "staff@example.com", staff_password())
    return SeedCounts(
        Category.objects.count(), len(created_products), len(created_customers), len(created_orders)
    )
