from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "legacy_monolith.customers"
    label = "customers"
    verbose_name = "Customers"
