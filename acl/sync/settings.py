"""Settings of the sync processes, read once from the environment into a frozen object.

STRANGLER_HOME                        .strangler
STRANGLER_SYNC_LEGACY_DATABASE_URL    the monolith's DB (sqlite:///$STRANGLER_HOME/legacy/legacy.sqlite3)
STRANGLER_SYNC_DATABASE_URL           stream, inbox, checkpoints, lag (.../sync/sync.sqlite3)
STRANGLER_SYNC_SERVICE_DATABASE_URL   the service DB with service_outbox (the generic commands, reverse,
                                      lag and dead-letters; no default but a pipeline's)
STRANGLER_SYNC_TRANSPORT              sql (the sync_stream table) | redis
STRANGLER_SYNC_REDIS_URL              redis://127.0.0.1:6379/0
STRANGLER_SYNC_STREAM                 strangler:sync:legacy
STRANGLER_SYNC_ORIGIN                 the service's origin tag (its consumer's name); no default but a
                                      pipeline's
STRANGLER_SYNC_DIRECTION              the reverse relay's sync_lag row (reverse:<origin>, else what a
                                      pipeline names for the origin)
STRANGLER_SYNC_FORWARD_URL            the service the generic forward consumer posts to (/internal/sync/apply)
STRANGLER_LEGACY_URL                  http://127.0.0.1:8100
STRANGLER_SYNC_INTERNAL_TOKEN         else STRANGLER_LEGACY_INTERNAL_TOKEN(_FILE), else the internal_token
                                      file in STRANGLER_LEGACY_DATA_DIR or .../legacy
STRANGLER_SYNC_POLL_INTERVAL          0.02 (seconds)
STRANGLER_SYNC_BATCH_SIZE             200

A pipeline may name its monolith's own variables as aliases of these, and give defaults to those left
unset (``acl.sync.pipelines``); its own settings (its port, its service) are its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from string import Template
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from acl.sync.core.lag import reverse_direction
from strangler_proxy.secrets import configured_secret

__all__ = ["SyncSettings", "SyncSettingsMissing", "aliased_settings"]


class SyncSettingsMissing(RuntimeError):
    """A setting the command needs is neither set nor given by a registered pipeline."""


class SyncSettings(BaseSettings):
    # Environment variables by their aliases only: a field name such as ``transport`` must never pick up an
    # unrelated variable.
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    strangler_home: Path = Field(Path(".strangler"), validation_alias="STRANGLER_HOME")
    legacy_database_url_override: str | None = Field(
        None, validation_alias="STRANGLER_SYNC_LEGACY_DATABASE_URL"
    )
    sync_database_url_override: str | None = Field(None, validation_alias="STRANGLER_SYNC_DATABASE_URL")
    service_database_url_override: str | None = Field(
        None, validation_alias="STRANGLER_SYNC_SERVICE_DATABASE_URL"
    )
    transport: str = Field("sql", pattern="^(sql|redis)$", validation_alias="STRANGLER_SYNC_TRANSPORT")
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias="STRANGLER_SYNC_REDIS_URL")
    stream: str = Field("strangler:sync:legacy", validation_alias="STRANGLER_SYNC_STREAM")
    origin_value: str | None = Field(
        None, pattern=r"^[a-z][a-z0-9_-]{0,39}$", validation_alias="STRANGLER_SYNC_ORIGIN"
    )
    direction_override: str | None = Field(
        None, pattern=r"^reverse(:[a-z0-9_-]+)?$", max_length=20, validation_alias="STRANGLER_SYNC_DIRECTION"
    )
    forward_url: str | None = Field(None, validation_alias="STRANGLER_SYNC_FORWARD_URL")
    legacy_url: str = Field("http://127.0.0.1:8100", validation_alias="STRANGLER_LEGACY_URL")
    internal_token_value: str | None = Field(None, validation_alias="STRANGLER_SYNC_INTERNAL_TOKEN")
    legacy_data_dir: Path | None = Field(None, validation_alias="STRANGLER_LEGACY_DATA_DIR")
    poll_interval: float = Field(0.02, gt=0, le=5, validation_alias="STRANGLER_SYNC_POLL_INTERVAL")
    batch_size: int = Field(200, ge=1, le=10_000, validation_alias="STRANGLER_SYNC_BATCH_SIZE")

    @property
    def home(self) -> Path:
        return self.strangler_home.resolve()

    @property
    def origin(self) -> str:
        """The service's origin tag (its outbox events', its consumer's inbox and offset)."""
        if self.origin_value is None:
            raise SyncSettingsMissing(
                "no origin: set STRANGLER_SYNC_ORIGIN (the service's name), or register a sync pipeline that"
                " gives it (STRANGLER_SYNC_PIPELINES)"
            )
        return self.origin_value

    @property
    def reverse_direction(self) -> str:
        """The ``sync_lag`` row of this origin's reverse relay: ``STRANGLER_SYNC_DIRECTION``, else
        ``reverse:<origin>``."""
        return self.direction_override or reverse_direction(self.origin)

    @property
    def forward_consumer(self) -> str:
        """The generic forward consumer's inbox, offset and consumer group: ``forward-<origin>``."""
        return f"forward-{self.origin}"

    @property
    def legacy_database_url(self) -> str:
        return self.legacy_database_url_override or f"sqlite:///{self.home / 'legacy' / 'legacy.sqlite3'}"

    @property
    def sync_database_url(self) -> str:
        return self.sync_database_url_override or f"sqlite:///{self.home / 'sync' / 'sync.sqlite3'}"

    @property
    def service_database_url(self) -> str:
        if self.service_database_url_override:
            return self.service_database_url_override
        raise SyncSettingsMissing(
            "no service database: set STRANGLER_SYNC_SERVICE_DATABASE_URL, or register a sync pipeline that"
            " gives it (STRANGLER_SYNC_PIPELINES)"
        )

    def internal_token(self) -> str:
        """The monolith's internal bearer token: the variable, else its file (read, never created here)."""
        if self.internal_token_value:
            return self.internal_token_value
        configured = configured_secret("LEGACY_INTERNAL_TOKEN")
        if configured is not None:
            return configured
        folder = (self.legacy_data_dir or self.home / "legacy").resolve()
        path = folder / "internal_token"
        try:
            token = path.read_text().strip()
        except FileNotFoundError:
            raise RuntimeError(
                "no internal token: set STRANGLER_SYNC_INTERNAL_TOKEN, "
                f"STRANGLER_LEGACY_INTERNAL_TOKEN(_FILE) or start the monolith once ({path})"
            ) from None
        if not token:
            raise RuntimeError(f"the internal token file {path} is empty")
        return token


def aliased_settings(
    environ: Mapping[str, str],
    aliases: Iterable[Mapping[str, str]],
    defaults: Iterable[Mapping[str, str]] = (),
    directions: Iterable[Mapping[str, str]] = (),
) -> SyncSettings:
    """The settings from the environment, where each alias (``{"OLD_NAME": "STRANGLER_..."}``, a monolith's
    own name of a variable) stands in for the generic variable left unset, then each default
    (``{"STRANGLER_...": "value"}``, ``$home`` the state folder) for one still unset; the first given wins.
    ``directions`` name the reverse relay's ``sync_lag`` row of an origin (``{"origin": "reverse"}``) when
    ``STRANGLER_SYNC_DIRECTION`` is unset."""
    values: dict[str, Any] = {}  # by the variables' names, as the fields' aliases
    for mapping in aliases:
        for old, new in mapping.items():
            if old in environ and new not in environ:
                values.setdefault(new, environ[old])
    home = Path(environ.get("STRANGLER_HOME") or ".strangler").resolve()
    for mapping in defaults:
        for name, value in mapping.items():
            if name not in environ:
                values.setdefault(name, Template(value).safe_substitute(home=str(home)))
    settings = SyncSettings(**values)
    if settings.direction_override is None and settings.origin_value is not None:
        origin = settings.origin_value
        named = next((found[origin] for found in directions if origin in found), None)
        if named is not None:
            settings = settings.model_copy(update={"direction_override": named})
    return settings
