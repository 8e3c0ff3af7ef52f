"""``python -m strangler_proxy.engines.haproxy``: the front door as HAProxy, fed by the agent.

Settings from the environment (see :mod:`.settings`); stops cleanly on SIGTERM or SIGINT (HAProxy
finishes the requests in flight, the engine's row leaves the store).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from strangler_proxy.engines.haproxy.agent import EngineAgent, worker_name
from strangler_proxy.engines.haproxy.settings import EngineSettings
from strangler_proxy.engines.haproxy.store_io import EngineStore
from strangler_proxy.store import make_engine


async def _main() -> None:
    settings = EngineSettings()
    engine = make_engine(settings.resolved_store_url)
    agent = EngineAgent(settings, EngineStore(engine, worker=worker_name(), pid=os.getpid()))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, agent.stop)
    try:
        await agent.run()
    finally:
        engine.dispose()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_main())


if __name__ == "__main__":
    main()
