"""Roles and the authenticated caller.

Roles are ordered: viewer (read) < operator (flip, rollback, panic) < admin (users, upstreams, guards).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from strangler_proxy.controlplane.errors import BadRequest

__all__ = ["Principal", "Role"]


class Role(IntEnum):
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls[value.upper()]
        except KeyError:
            raise BadRequest(f"unknown role {value!r}; use viewer, operator or admin") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller; ``role`` is what it may do now (a token's scope can narrow its user's)."""

    user_id: int
    username: str
    role: Role
    via: Literal["session", "token"]
    csrf_token: str | None = None
    token_id: int | None = None

    def can(self, role: Role) -> bool:
        return self.role >= role
