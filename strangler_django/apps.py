"""The app's configuration: label ``strangler_django``."""

from django.apps import AppConfig


class StranglerDjangoConfig(AppConfig):
    name = "strangler_django"
    label = "strangler_django"
    verbose_name = "Strangler (monolith side)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # before the WSGI handler loads the middleware, so Django's instrumentation can add its own;
        # Sentry's SDK (when SENTRY_DSN is set) reports unhandled errors with the trace id and route
        from strangler_django.error_tracking import init_error_tracking
        from strangler_django.tracing import instrument_from_environment

        instrument_from_environment()
        init_error_tracking()
        # the scoped service tokens (STRANGLER_SERVICE_TOKENS): generated at first start
        from strangler_django.service_tokens import ensure_token_files

        ensure_token_files()
