"""Internal endpoints for the strangler toolkit: reverse sync and session resolution (shared secret)."""
