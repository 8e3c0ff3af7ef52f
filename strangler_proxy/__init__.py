"""strangler_proxy."""
