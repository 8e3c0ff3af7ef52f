"""The catalog's sync pipeline: legacy product events through the translators into the catalog's port, the
catalog's changes back to the monolith, its backfill, reconcile, history check and conflict resolution.

It runs on the generic engine (``acl.sync``), which finds it by name (``acl.catalog.sync.pipeline``).
"""
