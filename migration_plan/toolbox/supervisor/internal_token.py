"""The token the monolith and the toolkit share for the monolith's ``/internal/`` endpoints.

When ``strangler.toml`` declares ``[secrets.internal_token]``, `strangler up` provisions it by the file's
secret convention: ``STRANGLER_INTERNAL_TOKEN``, else the file ``STRANGLER_INTERNAL_TOKEN_FILE`` names,
else ``STRANGLER_LEGACY_INTERNAL_TOKEN(_FILE)`` (what the toolkit's clients read), else (``generate``,
the default) ``$STRANGLER_HOME/secrets/internal_token``, generated at first start (mode 0600). The
monolith gets it as ``STRANGLER_INTERNAL_TOKEN`` (``strangler_django`` reads that setting), the
toolkit's clients of those endpoints (the front door's session resolution, the services, the reverse
relays) as ``STRANGLER_LEGACY_INTERNAL_TOKEN``, unless the caller set that variable or its ``_FILE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from migration_plan.project.schema import ProjectFile
from strangler_proxy.secrets import SecretError, configured_secret, load_or_create_secret

__all__ = ["SECRET_NAME", "InternalToken", "internal_token_file", "provision_internal_token"]

SECRET_NAME = "internal_token"
_MONOLITH_VARIABLE = "STRANGLER_INTERNAL_TOKEN"
_CLIENT_VARIABLE = "STRANGLER_LEGACY_INTERNAL_TOKEN"


@dataclass(frozen=True)
class InternalToken:
    """The environment each side gets (empty when the project declares no internal token)."""

    monolith_env: Mapping[str, str] = field(default_factory=dict)
    client_env: Mapping[str, str] = field(default_factory=dict)


def internal_token_file(home: Path) -> Path:
    """Where a generated internal token is kept."""
    return home / "secrets" / SECRET_NAME


def provision_internal_token(project: ProjectFile, home: Path, environ: Mapping[str, str]) -> InternalToken:
    """The internal token as ``project`` declares it, generated under ``home`` when nothing configures it.

    ``SecretError`` when both names are configured with different tokens, or when the token may not be
    generated and nothing configures it (the message names the variables to set)."""
    section = project.secrets.get(SECRET_NAME)
    if section is None:
        return InternalToken()
    own = configured_secret("INTERNAL_TOKEN", environ)
    clients = configured_secret("LEGACY_INTERNAL_TOKEN", environ)
    if own is not None and clients is not None and own != clients:
        raise SecretError(
            f"{_MONOLITH_VARIABLE}(_FILE) and {_CLIENT_VARIABLE}(_FILE) hold different tokens: the monolith"
            " and the toolkit must share one; keep one of them"
        )
    token = own or clients
    if token is None:
        if not section.generate:
            raise SecretError(
                f"[secrets.{SECRET_NAME}] has generate = false: set {_MONOLITH_VARIABLE} or"
                f" {_MONOLITH_VARIABLE}_FILE"
            )
        token = load_or_create_secret(internal_token_file(home))
    caller_set = any(environ.get(name, "").strip() for name in (_CLIENT_VARIABLE, f"{_CLIENT_VARIABLE}_FILE"))
    return InternalToken(
        monolith_env={_MONOLITH_VARIABLE: token},
        client_env={} if caller_set else {_CLIENT_VARIABLE: token},
    )
