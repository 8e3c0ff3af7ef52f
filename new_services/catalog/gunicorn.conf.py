"""gunicorn settings for the catalog service::

    gunicorn -c new_services/catalog/gunicorn.conf.py 'new_services.catalog.entrypoints.wsgi:app'

on 127.0.0.1:$CATALOG_PORT (default 8201); see new_services/kit/gunicorn_config.py for the rest.
"""

from new_services.kit.gunicorn_config import server_settings

globals().update(server_settings("catalog", default_port=8201))
