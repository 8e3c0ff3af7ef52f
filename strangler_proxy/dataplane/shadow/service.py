"""The shadow process: receives shadowed exchanges from the workers, replays and compares them.

It listens on the Unix socket the workers connect to, turns each frame into a
:meth:`ShadowMirror.submit` call (with the upstream URL of the version the request started with)
and records the outcomes through a :class:`StoreShadowSink`. It runs next to the uvicorn workers,
started and restarted by ``python -m strangler_proxy.dataplane``, and stops when that parent is gone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from pathlib import Path

from strangler_proxy.dataplane.shadow.channel import FrameReader, decode_frame, submission_of
from strangler_proxy.dataplane.shadow.mirror import DEFAULT_MAX_BODY_BYTES, ShadowMirror
from strangler_proxy.dataplane.shadow.records import ShadowSink
from strangler_proxy.dataplane.shadow.replay_client import ReplayClient
from strangler_proxy.dataplane.shadow.tracing import MirrorTracer
from strangler_proxy.routes.addresses import OwnSockets
from strangler_proxy.routes.model import Rule

__all__ = ["ShadowService"]

logger = logging.getLogger(__name__)

_MAX_CACHED_RULES = 1024


class _Receiver(asyncio.Protocol):
    def __init__(self, service: ShadowService) -> None:
        self._service = service
        self._reader = FrameReader()
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._service.connections.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._service.connections.discard(self._transport)

    def data_received(self, data: bytes) -> None:
        try:
            payloads = self._reader.feed(data)
        except ValueError as exc:
            logger.error("closing a worker's shadow connection: %s", exc)
            if self._transport is not None:
                self._transport.close()
            return
        for payload in payloads:
            self._service.receive(payload)


class ShadowService:
    """Owns the mirror's replay client and the Unix server; one per data plane."""

    def __init__(
        self,
        socket_path: Path,
        sink: ShadowSink,
        *,
        pool_size: int = 512,
        private: OwnSockets | None = None,
        tracer: MirrorTracer | None = None,
    ) -> None:
        self._path = socket_path
        self._tracer = tracer
        self._private = private
        self._sink = sink
        self._pool_size = pool_size
        self._rules: dict[bytes, Rule] = {}
        self._server: asyncio.AbstractServer | None = None
        self._client: ReplayClient | None = None
        self.mirror: ShadowMirror | None = None
        self.connections: set[asyncio.BaseTransport] = set()
        """The workers' open connections."""
        self.received = 0
        self.refused = 0

    async def start(self) -> None:
        self._client = ReplayClient(
            pool_size=self._pool_size, max_body_bytes=DEFAULT_MAX_BODY_BYTES, private=self._private
        )
        self.mirror = ShadowMirror(self._client, lambda name: None, self._sink, tracer=self._tracer)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self._path))
        os.chmod(self._path, 0o600)
        self._server = await asyncio.get_running_loop().create_unix_server(
            lambda: _Receiver(self), sock=listener, backlog=1024
        )

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            self._path.unlink(missing_ok=True)
        for transport in list(self.connections):
            transport.close()
        if self.mirror is not None:
            await self.mirror.aclose()
        if self._client is not None:
            await self._client.aclose()

    def _rule(self, rule_json: bytes) -> Rule:
        rule = self._rules.get(rule_json)
        if rule is None:
            if len(self._rules) >= _MAX_CACHED_RULES:
                self._rules.clear()
            rule = self._rules[rule_json] = Rule.model_validate_json(rule_json)
        return rule

    def receive(self, payload: bytes) -> None:
        """Schedule the mirror of each exchange in one frame; a malformed frame or exchange is logged
        and counted, and the others in the frame go on."""
        try:
            exchanges = decode_frame(payload)
        except ValueError as exc:
            self.refused += 1
            logger.error("shadow frame refused: %s", exc)
            return
        assert self.mirror is not None
        for fields in exchanges:
            try:
                submission = submission_of(fields)
                rule = self._rule(submission.rule_json)
            except ValueError as exc:
                self.refused += 1
                logger.error("shadow exchange refused: %s", exc)
                continue
            self.received += 1
            self.mirror.mirror(rule, submission)
