"""Settings of strangler_django's test project: nothing like LegacyShop's."""

import importlib.util

SECRET_KEY = "suite-only-secret-key-0123456789-not-for-production"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
HAS_DRF = importlib.util.find_spec("rest_framework") is not None

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "suite_project.shop",
    "strangler_django",
    *(["rest_framework"] if HAS_DRF else []),
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "suite_project.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
AUTH_USER_MODEL = "shop.Member"
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]

STRANGLER_INTERNAL_TOKEN = "suite-internal-token"
STRANGLER_ORIGIN = "monolith"
STRANGLER_SYNC_APPLIERS = ["suite_project.shop.appliers.WidgetApplier"]
STRANGLER_IDENTITY_CLAIMS = "suite_project.shop.appliers.member_claims"
STRANGLER_SESSION_STATE_KEYS = ["basket"]
