"""One keep-alive HTTP/1.1 connection of the replay client (:mod:`.replay_client`): it writes a request,
reads the answer with httptools' response parser whatever its framing, keeps at most ``max_body_bytes``
of the body, and fails with :class:`ReplayFailed` (or :class:`StaleConnection` when a pooled connection
turns out to be closed before any byte of the answer)."""

from __future__ import annotations

import asyncio
from typing import NamedTuple

import httptools

from strangler_proxy.dataplane.single_write import NO_CONTENT_STATUSES

__all__ = ["ReplayAnswer", "ReplayConnection", "ReplayFailed", "StaleConnection"]


class ReplayFailed(Exception):
    """A replay that got no complete answer; the message says from whom and why."""


class StaleConnection(ReplayFailed):
    """A pooled connection closed before any byte of the answer: the request may not have arrived."""


class ReplayAnswer(NamedTuple):
    status: int
    headers: list[tuple[bytes, bytes]]
    """Raw names and values, in the order received."""
    body: bytes | None
    """None when it was larger than the client's ``max_body_bytes``."""


class ReplayConnection(asyncio.Protocol):
    """One keep-alive connection: at most one request at a time; httptools calls the ``on_*``
    methods while :meth:`data_received` feeds it."""

    def __init__(self, max_body_bytes: int) -> None:
        self._max_body = max_body_bytes
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[ReplayAnswer] | None = None
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self.reused = False
        """Taken from the pool (a failure before any byte may mean the upstream had closed it)."""
        self._expect(head_only=False, read_s=0.0)

    def _expect(self, *, head_only: bool, read_s: float) -> None:
        """Start afresh for the next answer."""
        self._headers: list[tuple[bytes, bytes]] = []
        self._chunks: list[bytes] | None = []
        """None once the body is over the limit."""
        self._size = 0
        self._received = False
        self._head_done = False
        self._head_only = head_only
        self._interim = False
        self._out_of_step = False
        self.reusable = False
        self._read_s = read_s
        self._last_read = self._loop.time()

    # --- asyncio -------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self._close()  # an answer nobody asked for: this connection is out of step
            return
        self._received = True
        self._last_read = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ReplayFailed(f"malformed answer: {exc}"))
        if self._out_of_step:
            self._close()

    def eof_received(self) -> bool:
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.reusable = False
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._head_done and not _framed(self._headers):
            self._finish()  # the body ran until the upstream closed the connection
        elif not self._received and self.reused:
            self._fail(StaleConnection("the pooled connection was closed before an answer"))
        else:
            reason = f": {exc}" if exc is not None else ""
            self._fail(ReplayFailed(f"the connection closed before the answer was complete{reason}"))

    # --- httptools -----------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self._out_of_step = True  # a second answer to one request: read no further

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._out_of_step:
            self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self._out_of_step:
            return
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self._interim = True  # 100 Continue, 103 Early Hints...: the final answer follows
            self._headers = []
            return
        if self._head_only or status in NO_CONTENT_STATUSES:
            self._finish()
            if self._head_only:
                # llhttp would wait for the body the headers announce: a new parser for the next one
                self._parser = httptools.HttpResponseParser(self)
            return
        self._head_done = True

    def on_body(self, chunk: bytes) -> None:
        if self._chunks is None or self._out_of_step:
            return
        self._size += len(chunk)
        if self._size > self._max_body:
            self._chunks = None
            self._finish()  # no need to read more: the connection is closed, not drained
            return
        self._chunks.append(chunk)

    def on_message_complete(self) -> None:
        if self._out_of_step:
            return
        if self._interim:
            self._interim = False
            return
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self._finish()

    # --- one request ---------------------------------------------------------------------------------

    def send(self, request: bytes, *, head_only: bool, read_s: float) -> asyncio.Future[ReplayAnswer]:
        assert self.transport is not None
        self._expect(head_only=head_only, read_s=read_s)
        self._waiter = self._loop.create_future()
        self._timer = self._loop.call_at(self._last_read + read_s, self._check_read_timeout)
        self.transport.write(request)
        return self._waiter

    def _check_read_timeout(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        due = self._last_read + self._read_s
        if self._loop.time() < due:
            self._timer = self._loop.call_at(due, self._check_read_timeout)
            return
        self._fail(ReplayFailed(f"read timeout: no byte of the answer for {self._read_s:g} s"))

    def _finish(self) -> None:
        waiter = self._waiter
        assert waiter is not None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        complete = self._chunks is not None
        body = b"".join(self._chunks) if self._chunks is not None else None
        self.reusable = complete and self.transport is not None and self._parser.should_keep_alive()
        if not self.reusable:
            self._close()
        if not waiter.done():
            waiter.set_result(ReplayAnswer(self._parser.get_status_code(), self._headers, body))

    def _fail(self, error: ReplayFailed) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._close()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def _close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Close now (the replay was cancelled): the answer, if any, is not read."""
        self._close()


def _framed(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether an answer says where its body ends (else it ends when the connection closes)."""
    return any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in headers)
