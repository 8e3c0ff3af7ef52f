"""gunicorn settings for the catalog: ``gunicorn -c new_services/catalog/gunicorn.conf.py
'new_services.catalog.entrypoints.wsgi:app'`` binds 127.0.0.1:$CATALOG_PORT (default 8201).

The schema is migrated once, in the master, before any worker forks (``CATALOG_MIGRATE_ON_START``).
"""

from __future__ import annotations

from new_services.catalog.config import CatalogSettings

_settings = CatalogSettings()

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
worker_class = "sync"
timeout = 30
graceful_timeout = 10
keepalive = 2
accesslog = None
errorlog = "-"
proc_name = "strangler-catalog"
# gunicorn's control socket defaults to one path per user: several servers on one machine would collide.
control_socket_disable = True


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    if not _settings.migrate_on_start:
        return
    from new_services.catalog.adapters.engine import make_engine
    from new_services.catalog.adapters.migrate import upgrade_to_head

    engine = make_engine(_settings.database_url)
    try:
        revision = upgrade_to_head(engine)
    finally:
        engine.dispose()
    server.log.info("catalog database at revision %s", revision)
