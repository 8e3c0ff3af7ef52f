"""Settings of the catalog service, read once from the environment into a frozen object."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["CatalogSettings"]


class CatalogSettings(BaseSettings):
    """``CATALOG_DATABASE_URL`` wins; otherwise a SQLite file under ``$STRANGLER_HOME/services/catalog``."""

    model_config = SettingsConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    strangler_home: Path = Field(Path(".strangler"), validation_alias="STRANGLER_HOME")
    database_url_override: str | None = Field(None, validation_alias="CATALOG_DATABASE_URL")
    host: str = Field("127.0.0.1", validation_alias="CATALOG_HOST")
    port: int = Field(8201, ge=1, le=65535, validation_alias="CATALOG_PORT")
    workers: int = Field(2, ge=1, validation_alias="CATALOG_WORKERS")
    migrate_on_start: bool = Field(True, validation_alias="CATALOG_MIGRATE_ON_START")
    log_level: str = Field("INFO", validation_alias="CATALOG_LOG_LEVEL")
    # Set by gunicorn.conf.py: workers share their Prometheus samples through files in this folder.
    metrics_dir: Path | None = Field(None, validation_alias="PROMETHEUS_MULTIPROC_DIR")
    # The same variable the monolith reads, so that both sides accept the same cross-origin POSTs.
    csrf_trusted_origins_text: str = Field("", validation_alias="LEGACYSHOP_CSRF_TRUSTED_ORIGINS")

    @property
    def csrf_trusted_origins(self) -> tuple[str, ...]:
        return tuple(item.strip() for item in self.csrf_trusted_origins_text.split(",") if item.strip())

    legacy_database_url_override: str | None = Field(None, validation_alias="STRANGLER_LEGACY_DATABASE_URL")

    @property
    def legacy_database_url(self) -> str:
        """Where a backfill reads the monolith's tables (read-only); its SQLite file by default."""
        if self.legacy_database_url_override:
            return self.legacy_database_url_override
        return f"sqlite:///{(self.strangler_home / 'legacy' / 'legacy.sqlite3').resolve()}"

    @property
    def data_dir(self) -> Path:
        return self.strangler_home / "services" / "catalog"

    @property
    def database_url(self) -> str:
        if self.database_url_override:
            return self.database_url_override
        return f"sqlite:///{(self.data_dir / 'catalog.sqlite3').resolve()}"
