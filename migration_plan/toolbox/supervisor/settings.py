"""The stack's settings (ports, state dir, workers), read once from the environment into a frozen object."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["StackSettings"]

Port = Annotated[int, Field(ge=1, le=65535)]


def _env(name: str) -> AliasChoices:
    """Read from exactly this environment variable (the field name ``home`` must not match ``$HOME``)."""
    return AliasChoices(name)


class StackSettings(BaseSettings):
    """Where state lives and which port each process of `strangler up` listens on (all on 127.0.0.1)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", validate_default=True)

    home: Path = Field(default=Path(".strangler"), validation_alias=_env("STRANGLER_HOME"))
    dataplane_port: Port = Field(default=8000, validation_alias=_env("STRANGLER_DATAPLANE_PORT"))
    admin_port: Port = Field(default=8001, validation_alias=_env("STRANGLER_ADMIN_PORT"))
    dataplane_internal_port: Port = Field(
        default=8002, validation_alias=_env("STRANGLER_DATAPLANE_INTERNAL_PORT")
    )
    """The data plane's loopback-only port for its readiness, metrics and version endpoints."""
    legacy_port: Port = Field(default=8100, validation_alias=_env("STRANGLER_LEGACY_PORT"))
    """The supervised monolith's port (a project file may name more: ``[legacy] port_variables``)."""
    engine: Literal["dataplane", "haproxy"] = Field(
        default="dataplane", validation_alias=_env("STRANGLER_ENGINE")
    )
    """The front door: the Python data plane, or HAProxy fed the route table (``strangler up --engine``)."""
    engine_status_port: Port = Field(default=8010, validation_alias=_env("STRANGLER_ENGINE_STATUS_PORT"))
    """The engine's loopback status port (readiness, the version it serves, Prometheus metrics)."""
    dataplane_workers: Annotated[int, Field(ge=1, le=256)] = Field(
        default_factory=lambda: os.cpu_count() or 1,
        validation_alias=_env("STRANGLER_DATAPLANE_WORKERS"),
    )
    store_url: str = Field(default="", validation_alias=_env("STRANGLER_STORE_URL"))
    """Empty means ``sqlite:///$STRANGLER_HOME/store.sqlite3``."""
    legacy_url: str = Field(default="", validation_alias=_env("STRANGLER_LEGACY_URL"))
    """Empty means the monolith this stack starts, ``http://127.0.0.1:$STRANGLER_LEGACY_PORT``."""
    startup_timeout: Annotated[float, Field(gt=0)] = Field(
        default=120.0, validation_alias=_env("STRANGLER_STARTUP_TIMEOUT")
    )
    stop_grace: Annotated[float, Field(ge=0)] = Field(
        default=10.0, validation_alias=_env("STRANGLER_STOP_GRACE")
    )

    @field_validator("home")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.home / 'store.sqlite3'}"

    @property
    def resolved_legacy_url(self) -> str:
        return self.legacy_url or f"http://127.0.0.1:{self.legacy_port}"

    @property
    def socket_path(self) -> Path:
        return self.home / "supervisor.sock"

    @property
    def admin_password_file(self) -> Path:
        return self.home / "secrets" / "admin_password"
