"""The orders' sync pipeline: legacy order events through the translators into the orders service's port,
its backfill, reconcile and history check.

It runs on the generic engine (``acl.sync``), which finds it by name (``acl.orders.sync.pipeline``).
"""
