"""Django settings for LegacyShop.

Everything that differs between machines comes from the environment:

    DATABASE_URL                any dj-database-url URL (default: SQLite in the data dir)
    LEGACYSHOP_DATA_DIR         where the SQLite file and the secret key live (default: legacy_monolith/var/)
    LEGACYSHOP_SECRET_KEY       overrides the generated key file
    STRANGLER_INTERNAL_TOKEN    bearer token of /internal/, as `strangler up` provisions it
    LEGACYSHOP_INTERNAL_TOKEN   else this one (default: the data dir's internal_token file)
                                (each secret also as ``<NAME>_FILE``: a file holding it)
    LEGACYSHOP_DEBUG            "1" turns DEBUG on
    LEGACYSHOP_ALLOWED_HOSTS    comma-separated hosts added to 127.0.0.1 and localhost
    LEGACYSHOP_CSRF_TRUSTED_ORIGINS  comma-separated origins allowed to POST (behind an HTTPS front)
"""

import os
from pathlib import Path

import dj_database_url

from legacy_monolith.legacyshop.secret_key import configured_secret, load_or_create_secret_key

PACKAGE_DIR = Path(__file__).resolve().parent.parent

DATA_DIR = Path(os.environ.get("LEGACYSHOP_DATA_DIR") or PACKAGE_DIR / "var").resolve()

SECRET_KEY = configured_secret("LEGACYSHOP_SECRET_KEY") or load_or_create_secret_key(DATA_DIR)

# The shared secret of /internal/ (reverse sync, session resolution): the one `strangler up` provisions
# ([secrets.internal_token] of strangler.toml, given to the monolith as STRANGLER_INTERNAL_TOKEN and to the
# services and relays), else LEGACYSHOP_INTERNAL_TOKEN(_FILE), else the data dir's file.
INTERNAL_TOKEN = (
    os.environ.get("STRANGLER_INTERNAL_TOKEN", "").strip()
    or configured_secret("LEGACYSHOP_INTERNAL_TOKEN")
    or load_or_create_secret_key(DATA_DIR, "internal_token")
)

DEBUG = os.environ.get("LEGACYSHOP_DEBUG", "") == "1"


def _env_list(name):
    """A comma-separated environment variable as a list, blanks dropped."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


# Requests come through the strangler proxy, which keeps the client's Host header.
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", *_env_list("LEGACYSHOP_ALLOWED_HOSTS")]

# Origins (scheme://host:port) allowed to POST forms besides the request's own host, e.g. an HTTPS front.
CSRF_TRUSTED_ORIGINS = _env_list("LEGACYSHOP_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "legacy_monolith.legacyshop",
    "legacy_monolith.catalog",
    "legacy_monolith.customers",
    "legacy_monolith.orders",
    "strangler_django",
]

# strangler_django (the toolkit's Django app): the outbox, /internal/ endpoints, /healthz, /readyz, urls_json.
STRANGLER_INTERNAL_TOKEN = INTERNAL_TOKEN
STRANGLER_SYNC_APPLIERS = [
    "legacy_monolith.catalog.appliers.ProductApplier",
    "legacy_monolith.orders.appliers.OrderApplier",
]
STRANGLER_IDENTITY_CLAIMS = "legacy_monolith.customers.identity.customer_claims"
# The session cart ({"<product id>": quantity}), which a service checking out reads and empties.
STRANGLER_SESSION_STATE_KEYS = ["cart"]
# The orders service calls the stock API as itself, with only the calls it needs (strangler_django's
# scoped service tokens); the token file is created at first start, beside the internal token.
STRANGLER_SERVICE_TOKENS = {
    "orders": {
        "token_file": DATA_DIR / "service_tokens" / "orders",
        "allow": [("GET", r"/api/products/\d+"), ("POST", r"/api/products/\d+/stock")],
    },
}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "strangler_django.sync_positions.SyncPositionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "strangler_django.session_state.SessionSnapshotMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "strangler_django.service_tokens.ServiceTokenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "legacy_monolith.legacyshop.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "legacy_monolith.legacyshop.context_processors.shop",
            ],
        },
    },
]

WSGI_APPLICATION = "legacy_monolith.legacyshop.wsgi.application"


def _database_config(url):
    """One DATABASES entry; SQLite gets WAL, a busy timeout and IMMEDIATE transactions (2+ workers)."""
    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    return config


if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": _database_config(os.environ["DATABASE_URL"])}
else:
    # SQLite creates the file but not its folder (the key file may come from the environment).
    DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    DATABASES = {"default": _database_config(f"sqlite:///{DATA_DIR / 'legacy.sqlite3'}")}

DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Naive local timestamps, on purpose: the tables were designed that way in 2015.
LANGUAGE_CODE = "en-us"
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = False

SHOP_CURRENCY = "EUR"
SHOP_NAME = "LegacyShop"

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"

CSRF_FAILURE_VIEW = "legacy_monolith.legacyshop.views.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
SESSION_ENGINE = "django.contrib.sessions.backends.db"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # JSON lines with the trace id of the request (the toolkit's formatter)
    "formatters": {"json": {"()": "strangler_django.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
