"""legacy_monolith."""
