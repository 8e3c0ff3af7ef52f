"""``python -m strangler_proxy.dataplane.shadow``: the shadow process of one data plane.

Started (and restarted) by ``python -m strangler_proxy.dataplane`` with ``STRANGLER_SHADOW_SOCKET``
set; reads the data plane's settings from the environment, stops on SIGTERM/SIGINT or when its parent
is gone, flushing the shadow results it holds to the store.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

import uvloop

from strangler_proxy.dataplane.settings import DataPlaneSettings
from strangler_proxy.dataplane.shadow.service import ShadowService
from strangler_proxy.dataplane.shadow.sinks import StoreShadowSink
from strangler_proxy.dataplane.shadow.tracing import MirrorTracer
from strangler_proxy.dataplane.sidecar import SHADOW_PARENT_ENV
from strangler_proxy.error_tracking import init_error_tracking
from strangler_proxy.json_logs import configure_json_logging
from strangler_proxy.store import make_engine
from strangler_proxy.telemetry import TracingConfig, tracer_provider

__all__ = ["main", "serve"]

logger = logging.getLogger("strangler_proxy.dataplane.shadow")

_PARENT_CHECK_S = 0.5


def _lower_priority(settings: DataPlaneSettings) -> None:
    os.nice(settings.shadow_nice)
    if settings.shadow_idle_priority and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError as exc:
            logger.warning(
                "shadow process kept at nice %d (SCHED_IDLE refused: %s)", settings.shadow_nice, exc
            )


async def serve(settings: DataPlaneSettings) -> None:
    if settings.shadow_socket is None:
        raise SystemExit("STRANGLER_SHADOW_SOCKET is not set: the shadow process has no socket to serve")
    parent = int(os.environ.get(SHADOW_PARENT_ENV) or os.getppid())
    if os.getppid() != parent:
        logger.warning("the data plane %s is gone; the shadow process does not start", parent)
        return
    _lower_priority(settings)
    engine = make_engine(settings.resolved_store_url)
    sink = StoreShadowSink(engine, f"{socket.gethostname()}:{os.getpid()}")
    init_error_tracking("strangler-shadow", os.environ)
    provider = tracer_provider(TracingConfig.from_environ(os.environ), "strangler-shadow")
    service = ShadowService(
        settings.shadow_socket,
        sink,
        pool_size=settings.upstream_pool_size,
        private=settings.private_sockets,
        tracer=None if provider is None else MirrorTracer(provider.get_tracer("strangler_proxy.shadow")),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await service.start()
    sink.start()
    logger.info("shadow process %s listening on %s", os.getpid(), settings.shadow_socket)
    try:
        while not stop.is_set() and os.getppid() == parent:
            try:
                await asyncio.wait_for(stop.wait(), _PARENT_CHECK_S)
            except TimeoutError:
                continue
    finally:
        # Each step on its own: a stop (SIGTERM, often with the whole data plane) ends with exit 0 and
        # everything closed that can be, whatever one of them raises.
        for step in (service.aclose, sink.aclose):
            try:
                await step()
            except Exception:
                logger.warning("shadow process: %s failed while stopping", step.__qualname__, exc_info=True)
        engine.dispose()
        if provider is not None:
            provider.shutdown()  # exports what is still queued
        logger.info("shadow process %s stopped (%d exchanges received)", os.getpid(), service.received)


def main() -> None:
    configure_json_logging()  # JSON lines; a mirror's lines name its primary request's trace id
    uvloop.run(serve(DataPlaneSettings()))


if __name__ == "__main__":
    main()
