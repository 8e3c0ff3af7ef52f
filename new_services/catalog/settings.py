"""Settings of the catalog service, read once from the environment into a frozen object."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from new_services.kit.settings import ServiceSettings

__all__ = ["CatalogSettings"]


class CatalogSettings(ServiceSettings):
    """``CATALOG_DATABASE_URL`` wins; otherwise a SQLite file under ``$STRANGLER_HOME/services/catalog``."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_")
    service: ClassVar[str] = "catalog"

    database_url_override: str | None = Field(None, validation_alias="CATALOG_DATABASE_URL")
    port: int = Field(8201, ge=1, le=65535)
    legacy_database_url_override: str | None = Field(None, validation_alias="STRANGLER_LEGACY_DATABASE_URL")

    @property
    def legacy_database_url(self) -> str:
        """Where a backfill reads the monolith's tables (read-only); its SQLite file by default."""
        if self.legacy_database_url_override:
            return self.legacy_database_url_override
        return f"sqlite:///{(self.strangler_home / 'legacy' / 'legacy.sqlite3').resolve()}"
