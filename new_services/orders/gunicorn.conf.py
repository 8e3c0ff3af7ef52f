"""gunicorn settings for the orders service::

    gunicorn -c new_services/orders/gunicorn.conf.py 'new_services.orders.entrypoints.wsgi:app'

on 127.0.0.1:$ORDERS_PORT (default 8202); see new_services/kit/gunicorn_config.py for the rest.
"""

from new_services.kit.gunicorn_config import server_settings

globals().update(server_settings("orders", default_port=8202))
