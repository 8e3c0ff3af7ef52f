"""Adapters of the orders service: SQL storage, in-memory fakes, the legacy stock adapter."""
