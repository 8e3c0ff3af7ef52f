"""The address check made each time a worker connects to an upstream by name.

The control plane checks an upstream's address when it is registered; a name may resolve elsewhere
later (DNS rebinding), so the workers' resolver checks every address again before aiohttp connects,
and drops the ones the policy refuses (``strangler_proxy.routes.addresses``). A name left with no
allowed address fails like an unreachable upstream (502). Addresses written as numbers never reach a
resolver: they were checked, in every spelling, when the table was validated.
"""

from __future__ import annotations

import logging
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from strangler_proxy.routes.addresses import OwnSockets, parse_ip, refusal

__all__ = ["GuardedResolver"]

logger = logging.getLogger(__name__)


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, keeping only the addresses an upstream may reach."""

    def __init__(self, own: OwnSockets, inner: AbstractResolver | None = None) -> None:
        self._own = own
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        refused: list[str] = []
        for result in results:
            address = parse_ip(result["host"])
            why = "not an address" if address is None else refusal(address, port, self._own)
            if why:
                refused.append(why)
            else:
                allowed.append(result)
        if refused:
            logger.warning("upstream %s:%s resolves to refused addresses: %s", host, port, "; ".join(refused))
        if not allowed:
            raise OSError(f"{host} resolves to no address an upstream may use ({'; '.join(refused)})")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
