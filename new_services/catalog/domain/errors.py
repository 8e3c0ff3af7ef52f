"""Errors raised by the domain model when a rule would be broken."""

from __future__ import annotations

__all__ = ["DomainError", "InsufficientStock", "InvalidValue"]


class DomainError(Exception):
    """A catalog rule would be broken."""


class InvalidValue(DomainError, ValueError):
    """A value object was given a value it cannot hold."""


class InsufficientStock(DomainError):
    """A reservation asked for more units than are in stock."""

    def __init__(self, *, requested: int, available: int) -> None:
        super().__init__(f"cannot reserve {requested} unit(s): only {available} in stock")
        self.requested = requested
        self.available = available
