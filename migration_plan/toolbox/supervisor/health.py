"""Health probes: a process is healthy when every one of its health URLs answers 2xx."""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

__all__ = ["probe"]


async def probe(session: aiohttp.ClientSession, urls: Sequence[str], *, timeout: float = 2.0) -> str | None:
    """None when every URL answers 2xx, else a short reason naming the first URL that did not."""
    for url in urls:
        try:
            async with session.get(
                url, timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=False
            ) as response:
                await response.read()
                if not 200 <= response.status < 300:
                    return f"{url} answered {response.status}"
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return f"{url}: {type(exc).__name__} {exc}".rstrip()
    return None
