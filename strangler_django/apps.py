"""The app's configuration: label ``strangler_django``."""

from django.apps import AppConfig


class StranglerDjangoConfig(AppConfig):
    name = "strangler_django"
    label = "strangler_django"
    verbose_name = "Strangler (monolith side)"
    default_auto_field = "django.db.models.BigAutoField"
