from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "suite_project.shop"
    label = "shop"
