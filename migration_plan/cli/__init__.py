"""The `strangler` command line."""
