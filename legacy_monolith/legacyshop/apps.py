from django.apps import AppConfig


class LegacyShopConfig(AppConfig):
    name = "legacy_monolith.legacyshop"
    label = "legacyshop"
    verbose_name = "LegacyShop"
