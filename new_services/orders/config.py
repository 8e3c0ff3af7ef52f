"""Settings of the orders service, read once from the environment into a frozen object."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["OrdersSettings"]


class OrdersSettings(BaseSettings):
    """``ORDERS_DATABASE_URL`` wins; otherwise a SQLite file under ``$STRANGLER_HOME/services/orders``.

    Stock lives in the monolith for now: checkout calls its staff stock API as
    ``ORDERS_LEGACY_USERNAME`` / ``ORDERS_LEGACY_PASSWORD`` (one login per worker) at ``ORDERS_STOCK_URL``.
    Order numbers are ``ORDERS_NUMBER_OFFSET`` + a local sequence, so they never collide with the
    monolith's own ``ORD-<date>-<ord_id>`` once orders are synced back to it.
    """

    model_config = SettingsConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    strangler_home: Path = Field(Path(".strangler"), validation_alias="STRANGLER_HOME")
    database_url_override: str | None = Field(None, validation_alias="ORDERS_DATABASE_URL")
    host: str = Field("127.0.0.1", validation_alias="ORDERS_HOST")
    port: int = Field(8202, ge=1, le=65535, validation_alias="ORDERS_PORT")
    workers: int = Field(2, ge=1, validation_alias="ORDERS_WORKERS")
    migrate_on_start: bool = Field(True, validation_alias="ORDERS_MIGRATE_ON_START")
    log_level: str = Field("INFO", validation_alias="ORDERS_LOG_LEVEL")
    # Set by gunicorn.conf.py: workers share their Prometheus samples through files in this folder.
    metrics_dir: Path | None = Field(None, validation_alias="PROMETHEUS_MULTIPROC_DIR")
    legacy_url: str = Field("http://127.0.0.1:8100", validation_alias="STRANGLER_LEGACY_URL")
    # Whoever serves the monolith's stock contract (POST /api/products/<id>/stock): the monolith until
    # the catalog takes stock writes over, then the catalog, by configuration only.
    stock_url_override: str | None = Field(None, validation_alias="ORDERS_STOCK_URL")
    legacy_username: str = Field("staff", validation_alias="ORDERS_LEGACY_USERNAME")
    legacy_password: SecretStr | None = Field(None, validation_alias="ORDERS_LEGACY_PASSWORD")
    number_offset: int = Field(50_000_000, ge=0, validation_alias="ORDERS_NUMBER_OFFSET")
    # The same variable the monolith reads, so that both sides accept the same cross-origin POSTs.
    csrf_trusted_origins_text: str = Field("", validation_alias="LEGACYSHOP_CSRF_TRUSTED_ORIGINS")

    @property
    def csrf_trusted_origins(self) -> tuple[str, ...]:
        return tuple(item.strip() for item in self.csrf_trusted_origins_text.split(",") if item.strip())

    @property
    def stock_url(self) -> str:
        return self.stock_url_override or self.legacy_url

    @property
    def data_dir(self) -> Path:
        return self.strangler_home / "services" / "orders"

    @property
    def database_url(self) -> str:
        if self.database_url_override:
            return self.database_url_override
        return f"sqlite:///{(self.data_dir / 'orders.sqlite3').resolve()}"
