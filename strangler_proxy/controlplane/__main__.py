"""``python -m strangler_proxy.controlplane``: one uvicorn worker on 127.0.0.1:8001 by default."""

from __future__ import annotations

import logging

import uvicorn

from strangler_proxy.controlplane.app import create_app
from strangler_proxy.controlplane.settings import ControlPlaneSettings


def main() -> None:
    settings = ControlPlaneSettings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.admin_host,
        port=settings.admin_port,
        workers=1,
        log_level="info",
        server_header=False,
        proxy_headers=False,
        # Open server-sent event streams (the admin UI's live charts) must not hold a shutdown up.
        timeout_graceful_shutdown=3,
    )


if __name__ == "__main__":
    main()
