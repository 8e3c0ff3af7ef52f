"""The catalog pipeline's own settings (LegacyShop's demo), read from the environment at its commands' start.

STRANGLER_SYNC_CATALOG_PORT   new_services.catalog.adapters.sync_port:create_port (the catalog's port)
CATALOG_DATABASE_URL          the catalog's DB, the generic STRANGLER_SYNC_SERVICE_DATABASE_URL's alias
                              (default: $STRANGLER_HOME/services/catalog/catalog.sqlite3)

The pipeline gives the generic commands (``relay``, ``reverse``, ``lag``, ``dead-letters``) the catalog as
their default service: origin ``catalog``, its database, and ``reverse`` as its reverse relay's lag row
(what the control plane has always drained for the catalog).
"""

from __future__ import annotations

from types import MappingProxyType

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from acl.catalog.sync.environ import LEGACYSHOP_ALIASES

__all__ = [
    "CATALOG_ALIASES",
    "CATALOG_DEFAULTS",
    "CATALOG_DIRECTIONS",
    "CATALOG_ORIGIN",
    "CATALOG_PORT_FACTORY",
    "CatalogSyncSettings",
]

CATALOG_ORIGIN = "catalog"
CATALOG_PORT_FACTORY = "new_services.catalog.adapters.sync_port:create_port"

CATALOG_ALIASES = MappingProxyType(
    {**LEGACYSHOP_ALIASES, "CATALOG_DATABASE_URL": "STRANGLER_SYNC_SERVICE_DATABASE_URL"}
)
CATALOG_DEFAULTS = MappingProxyType(
    {
        "STRANGLER_SYNC_ORIGIN": CATALOG_ORIGIN,
        "STRANGLER_SYNC_SERVICE_DATABASE_URL": "sqlite:///$home/services/catalog/catalog.sqlite3",
    }
)
CATALOG_DIRECTIONS = MappingProxyType({CATALOG_ORIGIN: "reverse"})


class CatalogSyncSettings(BaseSettings):
    # By the variables' names only: CATALOG_PORT is the catalog's HTTP port, not its sync port.
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    port_factory: str = Field(CATALOG_PORT_FACTORY, validation_alias="STRANGLER_SYNC_CATALOG_PORT")
