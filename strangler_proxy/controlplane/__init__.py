"""strangler_proxy/controlplane."""
