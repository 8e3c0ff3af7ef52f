"""The settings every service reads, once, from the environment into a frozen object.

A service subclasses :class:`ServiceSettings`, names itself (``service``, which is also the prefix of
its variables: ``CATALOG_HOST``, ``CATALOG_PORT``, ``CATALOG_WORKERS``, ``CATALOG_MIGRATE_ON_START``,
``CATALOG_LOG_LEVEL``), gives its default port and the variable of its database URL, and adds its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    """The database is ``<SERVICE>_DATABASE_URL`` (each subclass names its variable), otherwise a SQLite
    file under ``$STRANGLER_HOME/services/<service>``."""

    model_config = SettingsConfigDict(frozen=True, populate_by_name=True, extra="ignore")
    service: ClassVar[str]

    strangler_home: Path = Field(Path(".strangler"), validation_alias="STRANGLER_HOME")
    database_url_override: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    workers: int = Field(2, ge=1)
    migrate_on_start: bool = True
    log_level: str = "INFO"
    # Set by gunicorn's config (kit/gunicorn_config.py): workers share their Prometheus samples there.
    metrics_dir: Path | None = Field(None, validation_alias="PROMETHEUS_MULTIPROC_DIR")
    # The monolith: where it answers, its internal bearer token (else the file it writes under
    # $STRANGLER_HOME/legacy, read when first needed) and its session cookie, for its session state.
    legacy_url: str = Field("http://127.0.0.1:8100", validation_alias="STRANGLER_LEGACY_URL")
    legacy_internal_token: SecretStr | None = Field(None, validation_alias="STRANGLER_LEGACY_INTERNAL_TOKEN")
    legacy_internal_token_file: Path | None = Field(
        None, validation_alias="STRANGLER_LEGACY_INTERNAL_TOKEN_FILE"
    )
    legacy_session_cookie: str = Field("sessionid", validation_alias="STRANGLER_LEGACY_SESSION_COOKIE")
    legacy_messages_cookie: str = Field("messages", validation_alias="STRANGLER_LEGACY_MESSAGES_COOKIE")
    """The monolith's flash-messages cookie (Django's ``MESSAGE_COOKIE_NAME``), for kit/flash.py."""
    # Read-your-writes (kit/sync_positions.py): the sync database holding the forward consumers' inbox,
    # and this service's consumer in it (``<SERVICE>_SYNC_CONSUMER``, default the service's name).
    sync_database_url_override: str | None = Field(None, validation_alias="STRANGLER_SYNC_DATABASE_URL")
    sync_consumer: str | None = None
    # The same variable the monolith reads, so that both sides accept the same cross-origin POSTs.
    csrf_trusted_origins_text: str = Field("", validation_alias="LEGACYSHOP_CSRF_TRUSTED_ORIGINS")

    @property
    def csrf_trusted_origins(self) -> tuple[str, ...]:
        return tuple(item.strip() for item in self.csrf_trusted_origins_text.split(",") if item.strip())

    @property
    def data_dir(self) -> Path:
        return self.strangler_home / "services" / self.service

    @property
    def database_url(self) -> str:
        if self.database_url_override:
            return self.database_url_override
        return f"sqlite:///{(self.data_dir / f'{self.service}.sqlite3').resolve()}"

    @property
    def sync_database_url(self) -> str:
        if self.sync_database_url_override:
            return self.sync_database_url_override
        return f"sqlite:///{(self.strangler_home / 'sync' / 'sync.sqlite3').resolve()}"

    def internal_token(self) -> str | None:
        """The monolith's internal bearer token: ``STRANGLER_LEGACY_INTERNAL_TOKEN``, else the file
        ``STRANGLER_LEGACY_INTERNAL_TOKEN_FILE`` names, else the monolith's own file in the home (read
        when asked, never created here: None until the monolith has written it)."""
        if self.legacy_internal_token is not None:
            return self.legacy_internal_token.get_secret_value()
        path = self.legacy_internal_token_file or self.strangler_home / "legacy" / "internal_token"
        try:
            return path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None
