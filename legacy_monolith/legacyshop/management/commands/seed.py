import os

from django.core.management.base import BaseCommand, CommandError

from legacy_monolith.legacyshop.seeding import DEMO_USER, STAFF_USER, seed_database, staff_password


class Command(BaseCommand):
    help = "Fill the shop with deterministic demo data (categories, products, customers, orders)."

    def add_arguments(self, parser):
        # LEGACYSHOP_SEED_PRODUCTS: the default of a stack's first-start seed (strangler.toml runs `seed`)
        parser.add_argument(
            "--products", type=int, default=int(os.environ.get("LEGACYSHOP_SEED_PRODUCTS", 2000))
        )
        parser.add_argument("--customers", type=int, default=50)
        parser.add_argument("--orders", type=int, default=200)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--reset", action="store_true", help="delete the shop's data before seeding")

    def handle(self, *args, **options):
        for name in ("products", "customers", "orders"):
            if options[name] < 0:
                raise CommandError(f"--{name} must not be negative")
        if options["customers"] < 1:
            raise CommandError("--customers must be at least 1 (the demo customer)")
        try:
            counts = seed_database(
                products=options["products"],
                customers=options["customers"],
                orders=options["orders"] if options["products"] else 0,
                seed=options["seed"],
                reset=options["reset"],
            )
        except FileExistsError as exc:
            raise CommandError(f"Refusing to seed: {exc}.") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {counts.categories} categories, {counts.products} products, "
                f"{counts.customers} customers and {counts.orders} orders (seed {options['seed']}). "
                f"Demo login {DEMO_USER[0]}/{DEMO_USER[1]}, staff login {STAFF_USER[0]}/"
                f"{'(LEGACYSHOP_STAFF_PASSWORD)' if staff_password() != STAFF_USER[1] else STAFF_USER[1]}."
            )
        )
