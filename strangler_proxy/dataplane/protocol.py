"""uvicorn's httptools protocol with the front door's own limits on hostile framing.

llhttp (under httptools) already refuses most framing attacks on its own: Content-Length together
with Transfer-Encoding, duplicate or malformed Content-Length, obfuscated Transfer-Encoding, bad
chunk sizes, bare LF or CR, obs-fold. This subclass adds what it leaves to the server:

- the request line: HTTP/1.0 and HTTP/1.1 only; another version -> 505, none at all (HTTP/0.9's
  ``GET /path``, which llhttp reads as version 0.9, as it does ``HTTP/0.9`` itself) -> 400;
- ``Host``: exactly one, well formed, on HTTP/1.1 and on HTTP/1.0 too (RFC 9112 section 3.2; without
  it the upstream would see an address of the proxy's choosing) -> 400;
- the target: origin-form, ``*`` for OPTIONS, or absolute-form naming the same authority as Host -> 400;
- ``Transfer-Encoding`` other than a single ``chunked`` -> 400 (codings the proxy would not apply);
- request line and headers larger than ``max_header_bytes`` -> 431;
- slow clients: headers not complete ``header_timeout_s`` after the request (or connection) began,
  or no body byte for ``body_idle_timeout_s`` while the body is incomplete, or a body arriving slower
  than ``min_body_bytes_per_s`` on average (checked every ``body_idle_timeout_s``) -> 408 and close
  (:mod:`.client_deadlines`).

Every refusal is reported to the application's ``record_refusal(status, reason, message, method=,
target=, client=)`` when it has one (the data plane counts and logs it).

It also offers the application the :mod:`.single_write` extension: an ``http.response.start``
message carrying the whole body is the complete answer, framed by uvicorn's own code and written to
the socket in one piece (one system call instead of two).
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from asyncio import Transport
from typing import Any

import httptools
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
)

from strangler_proxy.dataplane.client_deadlines import ClientDeadlines, ProtocolLimits
from strangler_proxy.dataplane.single_write import SINGLE_WRITE
from strangler_proxy.dataplane.single_write_cycle import SingleWriteCycle
from strangler_proxy.dataplane.upgrade import UPGRADE, ClientUpgrade

__all__ = [
    "UVICORN_DATA_RECEIVED",
    "UVICORN_MIRRORED_VERSION",
    "UVICORN_ON_HEADERS_COMPLETE",
    "UVICORN_SEND",
    "ProtocolLimits",
    "StrictHttpToolsProtocol",
]

UVICORN_MIRRORED_VERSION = "0.55.0"
"""The uvicorn release whose code (uvicorn/protocols/http/httptools_impl.py) the two copies below
repeat: written against 0.54, unchanged through this release, the locked one."""
UVICORN_ON_HEADERS_COMPLETE = "1ea8589acfad92d8ff9182775f337d98fc469e0fa39642a83195fca920f5ca96"
"""SHA-256 of the source of uvicorn's ``HttpToolsProtocol.on_headers_complete`` that
``StrictHttpToolsProtocol._start_cycle`` repeats; a unit test fails when uvicorn's changes."""
UVICORN_DATA_RECEIVED = "010a7ae59a5d3b1a5e7326ce246878568629d126a076d8af5ba10cab040fae43"
"""SHA-256 of the source of uvicorn's ``HttpToolsProtocol.data_received`` that
``StrictHttpToolsProtocol.data_received`` repeats; a unit test fails when uvicorn's changes."""
UVICORN_SEND = "abdd8601b326a8da972436918d3a954e1ef39c6bf0cd9e1c1954c2e798d0bb9c"
"""SHA-256 of the source of uvicorn's ``RequestResponseCycle.send``, whose framing
``SingleWriteCycle._send_whole`` (:mod:`.single_write_cycle`) repeats; a unit test fails when
uvicorn's changes."""

_HOST_RE = re.compile(
    rb"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|[0-9.]+)(?::[0-9]{1,5})?$"
)
_REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    505: "HTTP Version Not Supported",
}
_SERVED_VERSIONS = ("1.1", "1.0")
_BAD_VERSION = "Invalid HTTP version"
"""llhttp's reason for a version it cannot parse (HTTP/1.2, HTTP/3.0)."""


_DEFAULT_LIMITS = ProtocolLimits()


class _Refused(Exception):
    """Raised from a parser callback: httptools turns it into a parser error, uvicorn then answers."""


class StrictHttpToolsProtocol(ClientDeadlines):
    """One connection; see the module docstring for what it refuses beyond llhttp."""

    def __init__(self, *args: Any, limits: ProtocolLimits = _DEFAULT_LIMITS, **kwargs: Any) -> None:
        super().__init__(*args, limits=limits, **kwargs)
        self._max_header_bytes = limits.max_header_bytes
        self._refusal: tuple[int, str, str] | None = None
        self._header_bytes = 0
        self._hosts: list[bytes] = []
        self._codings: list[bytes] = []
        self._framed = False
        self._valid_host = b""
        self._upgrade: ClientUpgrade | None = None

    # --- timers (see ClientDeadlines) ---------------------------------------------------------
    def connection_made(self, transport: Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # --- parser input -------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        """uvicorn's ``data_received`` (see ``UVICORN_DATA_RECEIVED``), keeping llhttp's reason for a
        refused message so that a version it cannot parse is answered 505, not 400, and holding the
        connection at an upgrade (``_hold_upgrade``) instead of handing it to uvicorn's WebSocket
        protocol."""
        self._unset_keepalive_if_required()

        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self._refusal is None and str(exc) == _BAD_VERSION:
                self._refusal = (505, "http_version", "only HTTP/1.1 and HTTP/1.0 are served")
            elif self._refusal is None:
                self._refusal = (400, "bad_framing", f"the request is not valid HTTP/1.1 ({exc})")
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade as upgrade:
            self._hold_upgrade(data[upgrade.args[0] :])

    # --- upgrades -----------------------------------------------------------------------------
    def _should_upgrade(self) -> bool:
        """uvicorn asks (in ``_start_cycle``, for a request with ``Connection: upgrade``) whether to hand
        the connection to its WebSocket protocol: never. A GET asking for a WebSocket is served as an
        ``http`` request whose scope offers the take-over (:mod:`.upgrade`)."""
        if self._get_upgrade() == b"websocket" and self.parser.get_method() == b"GET":
            self._upgrade = ClientUpgrade(self)
            extensions: dict[str, Any] = self.scope["extensions"]  # uvicorn types them as plain dicts
            extensions[UPGRADE] = self._upgrade
        return False

    def _hold_upgrade(self, tail: bytes) -> None:
        """The parser stopped at an upgrade request: nothing more is read as HTTP on this connection.
        Reading pauses until the application takes the connection over (``tail`` is what the client
        sent after its head) or answers, after which the connection closes."""
        self.transport.pause_reading()
        if self._upgrade is not None:
            self._upgrade.tail = tail
        if self.cycle is not None:
            self.cycle.keep_alive = False

    def release_for_upgrade(self) -> None:
        """The relay takes the connection over: no timer of this protocol may touch it any more."""
        self._phase = "idle"
        self._disarm()

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: a relayed WebSocket is closed with a Close frame (1001)."""
        upgrade = self._upgrade
        if upgrade is not None and upgrade.on_shutdown is not None:
            upgrade.on_shutdown()
            return
        super().shutdown()

    # --- parser callbacks ---------------------------------------------------------------------
    # uvicorn's ``on_url`` and ``on_header`` are repeated here (one line each) rather than called, so
    # that a header costs one Python call, not two.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {SINGLE_WRITE: {}}
        self._header_bytes = 0
        self._hosts = []
        self._codings = []
        self._framed = False
        if self._phase != "headers" or self._timer is None:
            # _arm_headers, inline: on a kept-alive connection the pending timer is earlier, kept
            self._phase = "headers"
            deadline = self.loop.time() + self._limits.header_timeout_s
            self._deadline = deadline
            if self._timer is None or self._timer_at > deadline:
                self._schedule(deadline)

    def on_url(self, url: bytes) -> None:
        self._header_bytes += len(url)
        if self._header_bytes > self._max_header_bytes:
            self._refuse_size()
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > self._max_header_bytes:
            self._refuse_size()
        name = name.lower()
        if name == b"host":
            self._hosts.append(value)
        elif name == b"content-length":
            self._framed = True
        elif name == b"transfer-encoding":
            self._framed = True
            self._codings.extend(c.strip().lower() for c in value.split(b","))
        elif name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._check_request()
        self._start_cycle()
        if self._framed:
            self._arm_body()
        # else: no body follows (RFC 9112 section 6.3), the message completes right away

    def _start_cycle(self) -> None:
        """uvicorn's ``on_headers_complete`` (see ``UVICORN_MIRRORED_VERSION``), creating a
        :class:`SingleWriteCycle` instead of its own cycle class."""
        parser = self.parser
        http_version = parser.get_http_version()
        scope = self.scope
        scope["method"] = parser.get_method().decode("ascii")
        if http_version != "1.1":
            scope["http_version"] = http_version
        if parser.should_upgrade() and self._should_upgrade():
            return
        parsed_url = httptools.parse_url(self.url)
        raw_path = parsed_url.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        scope["path"] = self.root_path + path
        scope["raw_path"] = self.root_path.encode("ascii") + raw_path
        scope["query_string"] = parsed_url.query or b""
        limit = self.limit_concurrency
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            app = service_unavailable
            self.logger.warning("Exceeded concurrency limit.")
            self._record_refusal(503, "over_concurrency", "more connections and requests than the limit")
        else:
            app = self.app
        existing_cycle = self.cycle
        self.cycle = SingleWriteCycle(
            scope=scope,
            transport=self.transport,
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=self.expect_100_continue,
            keep_alive=http_version != "1.0" and parser.should_keep_alive() and not self.draining,
            on_response=self.on_response_complete,
        )
        if existing_cycle is None or existing_cycle.response_complete:
            self._start_asgi_task(self.cycle, app)
        else:  # pipelined requests wait for the answer before theirs
            self.flow.pause_reading()
            self.pipeline.appendleft((self.cycle, app))

    def on_body(self, body: bytes) -> None:
        self._last_body = self.loop.time()
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._phase = "idle"
        super().on_message_complete()

    # --- checks -------------------------------------------------------------------------------
    def _refuse(self, status: int, reason: str, message: str) -> None:
        self._refusal = (status, reason, message)
        raise _Refused(message)

    def _refuse_size(self) -> None:
        self._refuse(
            431, "headers_too_large", f"request line and headers exceed {self._max_header_bytes} bytes"
        )

    def _check_request(self) -> None:
        version = self.parser.get_http_version()
        if version not in _SERVED_VERSIONS:
            if version == "0.9":  # llhttp's reading of a request line without a version
                self._refuse(
                    400, "no_http_version", "the request line has no HTTP version (HTTP/0.9 is not served)"
                )
            self._refuse(505, "http_version", "only HTTP/1.1 and HTTP/1.0 are served")
        hosts = self._hosts
        if len(hosts) > 1:
            self._refuse(400, "bad_host", "more than one Host header")
        if not hosts or not hosts[0]:
            self._refuse(400, "bad_host", "a request needs a Host header naming the site")
        host = hosts[0]
        if host != self._valid_host:  # a kept-alive connection repeats its Host
            if not _HOST_RE.match(host):
                self._refuse(400, "bad_host", "the Host header is not a valid host[:port]")
            self._valid_host = host
        if self._codings and self._codings != [b"chunked"]:
            self._refuse(400, "bad_transfer_encoding", "only 'Transfer-Encoding: chunked' is accepted")
        url = self.url
        if url.startswith(b"/"):
            return
        if url == b"*" and self.parser.get_method() == b"OPTIONS":
            return
        try:
            parsed = httptools.parse_url(url)
        except httptools.HttpParserInvalidURLError:
            self._refuse(400, "bad_target", "the request target is not a valid URL")
        if parsed.schema not in (b"http", b"https") or parsed.host is None:
            self._refuse(
                400, "bad_target", "the request target must be origin-form or an http(s) absolute URL"
            )
        authority = parsed.host + (b":%d" % parsed.port if parsed.port is not None else b"")
        if authority.lower() != host.lower():
            self._refuse(
                400, "bad_target", "the absolute request target names another host than the Host header"
            )

    # --- answers ------------------------------------------------------------------------------
    def send_400_response(self, msg: str) -> None:
        refusal, self._refusal = self._refusal, None
        status, reason, message = refusal if refusal is not None else (400, "bad_framing", msg)
        self.logger.warning("refused a request: %s", message)
        self._send_refusal(status, reason, message)

    def _send_refusal(self, status: int, reason: str, message: str) -> None:
        self._disarm()
        self._record_refusal(status, reason, message)
        body = message.encode("ascii", "replace")
        status_line = STATUS_LINE.get(status) or f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\n".encode()
        self.transport.write(
            status_line
            + b"content-type: text/plain; charset=utf-8\r\ncontent-length: "
            + str(len(body)).encode()
            + b"\r\nconnection: close\r\n\r\n"
            + body
        )
        self.transport.close()

    def _record_refusal(self, status: int, reason: str, message: str) -> None:
        """Tell the application (when it counts refusals: ``DataPlane.record_refusal``) what was refused."""
        record = getattr(self.app, "record_refusal", None)
        if record is None:
            return
        method = self.scope.get("method") if self.scope else None
        if method is None:
            try:
                method = self.parser.get_method().decode("ascii", "replace")
            except Exception:  # the request line was not parsed far enough to have a method
                method = ""
        client = self.client[0] if self.client else ""
        try:
            record(status, reason, message, method=method, target=self.url or b"", client=client)
        except Exception:
            self.logger.exception("a refused request could not be recorded")
