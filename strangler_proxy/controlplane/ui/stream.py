"""Server-sent events for the routes page: one ``stats`` event a second with the live snapshot.

A stream ends by itself after ``MAX_STREAM_S`` and the browser's EventSource reconnects within
``RETRY_MS``: uvicorn waits for open responses before it stops, so a long-lived stream would hold up
a restart of the control plane for as long as a page stays open.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from strangler_proxy.controlplane.ui.web import UI

__all__ = ["StreamViews", "sse_event"]

log = logging.getLogger(__name__)

MAX_STREAM_S = 15.0
RETRY_MS = 1000


def sse_event(event: str, data: object) -> str:
    """One event in the text/event-stream format."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


class StreamViews:
    def __init__(self, ui: UI) -> None:
        self.ui = ui

    def routes(self) -> list[Route]:
        return [Route("/ui/stream", self.stream, methods=["GET"], name="ui-stream")]

    async def stream(self, request: Request) -> Response:
        await self.ui.require(request)
        return StreamingResponse(
            self._events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _events(self) -> AsyncIterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        ends = time.monotonic() + MAX_STREAM_S
        while time.monotonic() < ends:
            try:
                snapshot = await self.ui.feed.snapshot()
            except Exception as exc:  # the store may be briefly unavailable: say so, keep streaming
                log.warning("live snapshot failed: %s: %s", type(exc).__name__, exc)
                yield sse_event("problem", {"message": f"live figures unavailable: {type(exc).__name__}"})
            else:
                yield sse_event("stats", snapshot)
            await asyncio.sleep(1.0 - (time.time() % 1.0) + 0.05)
