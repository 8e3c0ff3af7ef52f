from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "legacy_monolith.orders"
    label = "orders"
    verbose_name = "Orders"
