"""A test-only Django project with a Django Channels consumer: the legacy side of the WebSocket tests.

Served by daphne (``daphne tests.integration.dataplane.channels_site.asgi:application``), as a Django
monolith that uses Channels would be. Nothing of LegacyShop: the toolkit must pass any Channels
project's sockets through.
"""
