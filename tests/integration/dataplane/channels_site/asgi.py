"""The ASGI application: Django for HTTP, the Channels consumer for WebSockets under ``/ws/``."""

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import re_path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.integration.dataplane.channels_site.settings")
django_application = get_asgi_application()

from tests.integration.dataplane.channels_site.consumers import EchoConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": URLRouter([re_path(r"^ws/", EchoConsumer.as_asgi())]),
    }
)
