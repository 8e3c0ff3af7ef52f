"""strangler_django: the monolith side of a strangler-fig migration, as an installable Django app.

Add ``"strangler_django"`` to ``INSTALLED_APPS`` and ``path("", include("strangler_django.urls"))`` to the
root URLconf. It brings the transactional outbox (``strangler_django.outbox.record_event``), the
reverse-sync endpoint ``POST /internal/sync/apply`` with the appliers the project registers
(``STRANGLER_SYNC_APPLIERS``), ``GET /internal/session/resolve`` (any ``AUTH_USER_MODEL`` and
``SESSION_ENGINE``), ``GET/PATCH /internal/session/state`` (the session keys listed in
``STRANGLER_SESSION_STATE_KEYS``, for a service that took over a route using them), ``/healthz`` and
``/readyz``, the ``urls_json`` route inventory command, and ``strangler_backfill``: an outbox snapshot
event per existing row of the aggregates registered with ``strangler_django.snapshots.register_snapshot``.

It depends on Django only, and nothing else of the toolkit.
"""
