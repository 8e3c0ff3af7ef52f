"""Status: whether a product is still sold."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Status"]


class Status(StrEnum):
    ACTIVE = "active"
    DISCONTINUED = "discontinued"
