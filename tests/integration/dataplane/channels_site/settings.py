"""Settings of the test-only Channels project (no database: the consumer and the views need none)."""

SECRET_KEY = "test-only-channels-site"  # a throwaway project for tests
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["channels"]
ROOT_URLCONF = "tests.integration.dataplane.channels_site.urls"
ASGI_APPLICATION = "tests.integration.dataplane.channels_site.asgi.application"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
MIDDLEWARE: list[str] = []
