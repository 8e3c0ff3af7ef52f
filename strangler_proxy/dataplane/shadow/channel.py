"""The channel from request-serving workers to the shadow process: length-prefixed frames on a Unix
stream socket.

A frame is a 4-byte big-endian length and a :mod:`marshal` payload: a list of exchanges, each a tuple
of :class:`Submission`'s fields (plain lists, tuples, bytes, str, int and None only: nothing is
executed when it is read). :class:`ShadowClient` is the worker's end: :meth:`ShadowClient.submit`
only keeps the exchange's fields (no copy, no conversion), and every ``BATCH_DELAY_S`` the gathered
exchanges are marshalled in one call and written in one send, so a shadowed request costs the
worker's core as little as it can. ``submit`` never blocks, never raises and never delays the primary
response; when the shadow process is not connected or has fallen behind (``max_buffer_bytes``
unsent), the exchange is dropped and counted.
"""

from __future__ import annotations

import asyncio
import logging
import marshal
import struct
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

from strangler_proxy.dataplane.routing.decision import Decision

__all__ = [
    "DEFAULT_MAX_BUFFER_BYTES",
    "MAX_FRAME_BYTES",
    "FrameReader",
    "ShadowClient",
    "Submission",
    "decode_frame",
    "encode_frame",
    "submission_of",
    "text_pairs",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BUFFER_BYTES = 8 * 1024 * 1024
"""Unsent bytes a worker keeps for the shadow process before it drops new exchanges."""
BATCH_DELAY_S = 0.002
"""Exchanges are gathered for this long and written as one frame: one marshal call and one send for
the worker, one wake-up for the shadow process. Short, so the shadow work reaches the other cores in
small bursts: with 5 ms batches (about 55 exchanges at 11,000 req/s) the worker waited for its clients
and upstreams 10 % of the time instead of 3 %, and the primary path lost 10-13 % of its throughput
instead of 1-5 % (docs/performance.md, "the shadow channel's batch delay")."""
_BATCH_BYTES = 256 * 1024
"""A batch is written at once when its bodies reach this size."""
_EXCHANGE_OVERHEAD_BYTES = 1024
"""What an exchange adds to a frame besides its bodies (head, headers, rule), for the backlog bound."""
MAX_FRAME_BYTES = 64 * 1024 * 1024
_LENGTH = struct.Struct("!I")
_RECONNECT_S = 0.2
_MARSHAL_VERSION = 2
"""No reference table (versions 3 and up build a hash table for every dump): it costs more than the
shared rule texts it would save."""


class Submission(NamedTuple):
    """One shadowed exchange as the shadow process receives it (a named tuple: made from a frame's
    fields in one call)."""

    rule_json: bytes
    """The matched rule (``Rule.model_dump_json()``): its shadow settings and timeouts."""
    route: str
    upstream: str
    upstream_url: str
    """The shadow upstream's base URL in the version the request started with."""
    version: int
    request_id: str
    method: str
    raw_target: bytes
    request_headers: list[tuple[str, str]]
    """As the worker gave them to aiohttp: text, which aiohttp writes as UTF-8."""
    request_body: bytes
    legacy_status: int
    legacy_headers: list[tuple[bytes, bytes]]
    legacy_body: bytes | None


def encode_frame(exchanges: list[Submission] | list[tuple[Any, ...]]) -> bytes:
    """The frame of a batch of exchanges (each a :class:`Submission` or a tuple of its fields in its
    order, which is what :meth:`ShadowClient.submit` keeps)."""
    payload = marshal.dumps([tuple(exchange) for exchange in exchanges], _MARSHAL_VERSION)
    return _LENGTH.pack(len(payload)) + payload


def decode_frame(payload: bytes | memoryview) -> list[Any]:
    """The exchanges in one frame's payload, each still to be checked by :func:`submission_of`;
    ValueError when the payload is not a batch."""
    try:
        exchanges = marshal.loads(payload)
    except (EOFError, ValueError, TypeError) as exc:
        raise ValueError(f"unreadable shadow frame: {exc}") from exc
    if type(exchanges) is not list:
        raise ValueError("a shadow frame must hold a list of exchanges")
    return exchanges


def _header_bytes(part: object) -> bytes:
    if isinstance(part, bytes):
        return part
    if isinstance(part, str):
        return part.encode("latin-1")
    raise TypeError(f"a header name or value must be bytes or text, not {type(part).__name__}")


def _header_text(part: object) -> str:
    if isinstance(part, str):
        if not part.isascii():
            part.encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone surrogate
        return part
    if isinstance(part, bytes):
        return part.decode("utf-8")
    raise TypeError(f"a header name or value must be bytes or text, not {type(part).__name__}")


def text_pairs(pairs: Any) -> list[tuple[str, str]]:
    """Header pairs as text: returned as they are when they already are text (checked for lone
    surrogates), else bytes read as UTF-8, as aiohttp writes text; ValueError or TypeError otherwise."""
    if type(pairs) is list:
        try:
            joined = "".join([name + value for name, value in pairs])  # TypeError unless text pairs
        except (TypeError, ValueError):
            pass
        else:
            if not joined.isascii():
                joined.encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone surrogate
            return pairs
    return [(_header_text(n), _header_text(v)) for n, v in pairs]


def submission_of(fields: Any) -> Submission:
    """The submission in one exchange of a frame; ValueError when it is not one.

    Header names and values arrive as bytes or as text. The request's headers are kept as text, which
    is what the mirror writes (a worker sends its forwarded request headers as the text it gave
    aiohttp, so they need no conversion at either end; bytes are read as UTF-8, as aiohttp writes
    text); the legacy's answer headers as bytes, which is what the comparison reads."""
    if type(fields) is not tuple or len(fields) != len(Submission._fields):
        raise ValueError(f"a shadow exchange must be a tuple of {len(Submission._fields)} fields")
    try:
        request_headers = text_pairs(fields[8])
        legacy_headers = fields[11]
        if type(legacy_headers) is not list or not all(
            type(pair) is tuple and len(pair) == 2 and type(pair[0]) is bytes and type(pair[1]) is bytes
            for pair in legacy_headers
        ):
            legacy_headers = [(_header_bytes(n), _header_bytes(v)) for n, v in legacy_headers]
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise ValueError(f"a shadow frame's headers are not name/value pairs: {exc}") from exc
    submission = Submission._make(fields)
    if request_headers is not fields[8] or legacy_headers is not fields[11]:
        submission = submission._replace(request_headers=request_headers, legacy_headers=legacy_headers)
    return submission


class FrameReader:
    """Splits a byte stream into frame payloads."""

    def __init__(self, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self._buffer = bytearray()
        self._max = max_frame_bytes

    def feed(self, data: bytes) -> list[bytes]:
        """The complete payloads now available; ValueError on a frame larger than the limit."""
        buffer = self._buffer
        buffer += data
        payloads = []
        at, size_of = 0, len(buffer)
        while size_of - at >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(buffer, at)
            if size > self._max:
                raise ValueError(f"shadow frame of {size} bytes exceeds {self._max}")
            end = at + _LENGTH.size + size
            if end > size_of:
                break
            payloads.append(bytes(buffer[at + _LENGTH.size : end]))
            at = end
        if at:
            del buffer[:at]  # once per read, not once per frame
        return payloads


class _ClientProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.WriteTransport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        """The shadow process sends nothing back."""

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.closed.done():
            self.closed.set_result(exc)


class ShadowClient:
    """The worker's end of the channel: connects (and reconnects) in the background."""

    def __init__(self, socket_path: Path, *, max_buffer_bytes: int = DEFAULT_MAX_BUFFER_BYTES) -> None:
        self._path = str(socket_path)
        self._max_buffer = max_buffer_bytes
        self._protocol: _ClientProtocol | None = None
        self._task: asyncio.Task[None] | None = None
        self._rules: dict[int, tuple[object, bytes]] = {}
        self._connected_once = False
        self._transport: asyncio.WriteTransport | None = None
        self._pending: list[tuple[Any, ...]] = []
        self._pending_bytes = 0
        self._room = max_buffer_bytes
        """What the batch may grow to: ``max_buffer_bytes`` less what the transport had not sent at
        the last write."""
        self._flush_handle: asyncio.TimerHandle | None = None
        self.submitted = 0
        """Exchanges written to the shadow process's socket."""
        self.dropped: Counter[str] = Counter()
        """Exchanges not handed over, per reason: ``disconnected``, ``backlog``, ``failed``."""

    @property
    def connected(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._connect_forever(), name="shadow-channel"
            )

    async def wait_connected(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the connection; True when connected."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.connected and loop.time() < deadline:
            await asyncio.sleep(0.01)
        return self.connected

    async def aclose(self) -> None:
        self._flush()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        protocol = self._protocol
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()

    async def _connect_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                _, protocol = await loop.create_unix_connection(_ClientProtocol, self._path)
            except OSError as exc:
                if self._connected_once:
                    logger.warning("shadow process unreachable at %s: %s", self._path, exc)
                    self._connected_once = False
                await asyncio.sleep(_RECONNECT_S)
                continue
            self._protocol = protocol
            self._transport = protocol.transport
            self._room = self._max_buffer
            self._connected_once = True
            reason = await protocol.closed
            self._protocol = self._transport = None
            logger.warning("connection to the shadow process lost (%s); reconnecting", reason)
            await asyncio.sleep(_RECONNECT_S)

    def _flush(self) -> None:
        """Write the gathered exchanges as one frame (dropped and counted when the connection is gone)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        if not pending:
            return
        transport = self._transport
        if transport is None or transport.is_closing():
            self.dropped["disconnected"] += len(pending)
            return
        try:
            payload = marshal.dumps(pending, _MARSHAL_VERSION)
        except ValueError:
            self.dropped["failed"] += len(pending)
            logger.exception("a batch of %d shadow exchanges could not be marshalled", len(pending))
            return
        transport.write(_LENGTH.pack(len(payload)) + payload)
        self.submitted += len(pending)
        self._room = self._max_buffer - transport.get_write_buffer_size()

    def _rule_json(self, rule: object) -> bytes:
        cached = self._rules.get(id(rule))
        if cached is not None and cached[0] is rule:
            return cached[1]
        if len(self._rules) > 4096:
            self._rules.clear()
        encoded: bytes = rule.model_dump_json().encode()  # type: ignore[attr-defined]
        self._rules[id(rule)] = (rule, encoded)
        return encoded

    def submit(
        self,
        decision: Decision,
        version: int,
        request_id: str,
        method: str,
        raw_target: bytes,
        request_headers: list[tuple[bytes, bytes]] | list[tuple[str, str]],
        request_body: bytes,
        legacy_status: int,
        legacy_headers: list[tuple[bytes, bytes]],
        legacy_body: bytes | None,
        upstream_url: str | None = None,
    ) -> None:
        """Hand one exchange to the shadow process; returns at once and never raises.

        Its fields are kept as they are (no copy, no conversion on the worker's core) until the
        batch is written."""
        rule, upstream = decision.rule, decision.shadow_upstream
        if rule is None or upstream is None or upstream_url is None:
            return
        if self._transport is None:
            self.dropped["disconnected"] += 1
            return
        if self._pending_bytes > self._room:
            self.dropped["backlog"] += 1
            return
        try:
            size = len(request_body) + _EXCHANGE_OVERHEAD_BYTES
            if legacy_body is not None:
                size += len(legacy_body)
            pending = self._pending
            if not pending:
                self._flush_handle = asyncio.get_running_loop().call_later(BATCH_DELAY_S, self._flush)
            # Submission's fields, in its order, without building one
            pending.append(
                (
                    self._rule_json(rule),
                    decision.route,
                    upstream,
                    upstream_url,
                    version,
                    request_id,
                    method,
                    raw_target,
                    request_headers,
                    request_body,
                    legacy_status,
                    legacy_headers,
                    legacy_body,
                )
            )
            self._pending_bytes += size
            if self._pending_bytes >= _BATCH_BYTES:
                self._flush()
        except Exception:
            self.dropped["failed"] += 1
            logger.exception("shadow exchange of %s %r not handed over", method, raw_target)
