"""strangler_proxy/dataplane."""
