"""LegacyShop project package: settings, root URLconf, shared templates and management commands."""
