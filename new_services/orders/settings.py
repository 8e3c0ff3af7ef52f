"""Settings of the orders service, read once from the environment into a frozen object."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from new_services.kit.settings import ServiceSettings

__all__ = ["OrdersSettings"]


class OrdersSettings(ServiceSettings):
    """``ORDERS_DATABASE_URL`` wins; otherwise a SQLite file under ``$STRANGLER_HOME/services/orders``.

    Stock lives in the monolith for now: checkout calls its stock API at ``ORDERS_STOCK_URL`` with the
    orders service's own scoped token (``ORDERS_LEGACY_SERVICE_TOKEN``, else the file
    ``ORDERS_LEGACY_SERVICE_TOKEN_FILE`` names, else the monolith's ``$STRANGLER_HOME/legacy/service_tokens/
    orders``, read when needed so that a rotation needs no restart); only when ``ORDERS_LEGACY_PASSWORD``
    is set does it log in as ``ORDERS_LEGACY_USERNAME`` instead (one login per worker).
    The cart checked out is the customer's session cart, kept by the monolith and read (then emptied)
    through its ``/internal/session/state`` with its internal token (``STRANGLER_LEGACY_INTERNAL_TOKEN``,
    else the monolith's ``$STRANGLER_HOME/legacy/internal_token``); the session is the cookie
    ``STRANGLER_LEGACY_SESSION_COOKIE``. ``ORDERS_CART_IN_BODY=true`` also accepts the cart in the
    request body (``{"items": [...]}``), an extension the monolith does not have.
    Order numbers are ``ORDERS_NUMBER_OFFSET`` + a local sequence, so they never collide with the
    monolith's own ``ORD-<date>-<ord_id>`` once orders are synced back to it.
    """

    model_config = SettingsConfigDict(env_prefix="ORDERS_")
    service: ClassVar[str] = "orders"

    database_url_override: str | None = Field(None, validation_alias="ORDERS_DATABASE_URL")
    port: int = Field(8202, ge=1, le=65535)
    # Whoever serves the monolith's stock contract (POST /api/products/<id>/stock): the monolith until
    # the catalog takes stock writes over, then the catalog, by configuration only.
    stock_url_override: str | None = Field(None, validation_alias="ORDERS_STOCK_URL")
    legacy_username: str = Field("staff", validation_alias="ORDERS_LEGACY_USERNAME")
    legacy_password: SecretStr | None = Field(None, validation_alias="ORDERS_LEGACY_PASSWORD")
    cart_in_body: bool = Field(False, validation_alias="ORDERS_CART_IN_BODY")
    legacy_password_file: Path | None = Field(None, validation_alias="ORDERS_LEGACY_PASSWORD_FILE")
    """A file holding the password instead (compose and Kubernetes secrets)."""

    @model_validator(mode="after")
    def _password_from_file(self) -> OrdersSettings:
        if self.legacy_password_file is None:
            return self
        if self.legacy_password is not None:
            raise ValueError("both ORDERS_LEGACY_PASSWORD and ORDERS_LEGACY_PASSWORD_FILE are set: keep one")
        password = self.legacy_password_file.read_text(encoding="utf-8").strip()
        if not password:
            raise ValueError(f"ORDERS_LEGACY_PASSWORD_FILE={self.legacy_password_file}: the file is empty")
        object.__setattr__(self, "legacy_password", SecretStr(password))
        return self

    legacy_service_token: SecretStr | None = Field(None, validation_alias="ORDERS_LEGACY_SERVICE_TOKEN")
    legacy_service_token_file: Path | None = Field(None, validation_alias="ORDERS_LEGACY_SERVICE_TOKEN_FILE")

    def service_token(self) -> str | None:
        """The scoped token of the monolith's stock API (see the class), None until the monolith wrote it."""
        if self.legacy_service_token is not None:
            return self.legacy_service_token.get_secret_value()
        path = self.legacy_service_token_file or self.strangler_home / "legacy" / "service_tokens" / "orders"
        try:
            return path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    number_offset: int = Field(50_000_000, ge=0, validation_alias="ORDERS_NUMBER_OFFSET")

    @property
    def stock_url(self) -> str:
        return self.stock_url_override or self.legacy_url
