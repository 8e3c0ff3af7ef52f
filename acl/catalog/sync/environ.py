"""LegacyShop's own names of the variables the sync processes read: a user of the demo may have them set.

The generic settings (``acl.sync.settings``) read only ``STRANGLER_*`` names; the demo's pipelines pass
these as aliases (``acl.sync.pipelines.Pipeline.environ_aliases``), read when the generic name is unset.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["LEGACYSHOP_ALIASES"]

LEGACYSHOP_ALIASES = MappingProxyType(
    {
        "LEGACYSHOP_INTERNAL_TOKEN": "STRANGLER_SYNC_INTERNAL_TOKEN",
        "LEGACYSHOP_DATA_DIR": "STRANGLER_LEGACY_DATA_DIR",
    }
)
