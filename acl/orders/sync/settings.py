"""The orders pipeline's own settings (LegacyShop's demo), read from the environment at its commands' start.

STRANGLER_SYNC_ORDERS_ORIGIN   orders (the orders consumer's name and the orders service's origin tag)
STRANGLER_SYNC_ORDERS_PORT     new_services.orders.adapters.sync_port:create_port (the orders service's port)
ORDERS_DATABASE_URL            the orders service's DB ($STRANGLER_HOME/services/orders/orders.sqlite3)
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ORDERS_PORT_FACTORY", "OrdersSyncSettings"]

ORDERS_PORT_FACTORY = "new_services.orders.adapters.sync_port:create_port"


class OrdersSyncSettings(BaseSettings):
    # By the variables' names only: ORDERS_PORT is the orders service's HTTP port, not its sync port.
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    origin: str = Field(
        "orders", pattern=r"^[a-z][a-z0-9_-]{0,39}$", validation_alias="STRANGLER_SYNC_ORDERS_ORIGIN"
    )
    port_factory: str = Field(ORDERS_PORT_FACTORY, validation_alias="STRANGLER_SYNC_ORDERS_PORT")
    database_url_override: str | None = Field(None, validation_alias="ORDERS_DATABASE_URL")

    def database_url(self, home: Path) -> str:
        """The orders service's database (its outbox and dead letters, for reconcile's history check)."""
        return self.database_url_override or f"sqlite:///{home / 'services' / 'orders' / 'orders.sqlite3'}"
