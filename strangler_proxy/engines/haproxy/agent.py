"""The HAProxy engine's agent: it runs HAProxy, feeds it every published table and proves it serves it.

    store --(poll the pointer's generation, 50 ms)--> agent --(runtime API / reload)--> HAProxy
      ^                                                 |  <--(TCP: a log line per request)--
      +--(dataplane_workers: the version it serves; route_stats: per-second figures for the guards)

Applying a version: the table is rendered into a configuration (its structure: rules, matches,
upstreams) and a map (its actions: modes, upstreams, weights, fallbacks, plus the version and the
generation). When the configuration text is the one HAProxy runs, only the map changes, in one atomic
commit through the runtime API; otherwise the new configuration is checked (``haproxy -c``) and
HAProxy reloads seamlessly. Either way the agent then asks HAProxy which generation it serves
(``/_strangler/version`` on the status port, read from the map the requests use) and records the
version in the store only once HAProxy reports it. A configuration HAProxy refuses leaves the old
version serving (logged, and not tried again until the next publish).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import socket
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from strangler_proxy.credentials import auth_schemes
from strangler_proxy.engines.haproxy.config import Structure, render_structure
from strangler_proxy.engines.haproxy.identity_sidecar import IdentitySidecar, render_lua
from strangler_proxy.engines.haproxy.layout import EngineLayout, IdentityHook
from strangler_proxy.engines.haproxy.process import EngineConfigRefused, HaproxyProcess, check_config
from strangler_proxy.engines.haproxy.request_log import LogStream, SecondStats
from strangler_proxy.engines.haproxy.runtime import RuntimeApi, RuntimeApiError
from strangler_proxy.engines.haproxy.settings import EngineSettings
from strangler_proxy.engines.haproxy.store_io import EngineStore
from strangler_proxy.engines.haproxy.table_map import map_entries, render_map
from strangler_proxy.routes import LEGACY, RouteTable, Upstream
from strangler_proxy.routes.front_doors import front_door_problems

__all__ = ["EngineAgent", "EngineNotServing"]

logger = logging.getLogger(__name__)

_RESTART_BACKOFF_S = 1.0


class EngineNotServing(RuntimeError):
    """HAProxy did not report the generation it was given within the verify timeout."""


def _write(path: Path, text: str) -> None:
    """Replace ``path`` atomically (mode 0600)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.chmod(0o600)
    os.replace(temporary, path)


class EngineAgent:
    def __init__(self, settings: EngineSettings, store: EngineStore) -> None:
        self.settings = settings
        self.store = store
        self.stats = SecondStats()
        self.version: int | None = None
        self.generation: int | None = None
        self.applied_at: datetime | None = None
        self._config_text: Structure | None = None
        self._backends: dict[str, Upstream] = {}
        """Upstreams HAProxy has a backend for (kept when a table stops naming them)."""
        self._refused_generation: int | None = None
        self._stopping = asyncio.Event()
        self._layout: EngineLayout | None = None
        self._haproxy: HaproxyProcess | None = None
        self._sidecar: IdentitySidecar | None = None
        self._log_server: asyncio.Server | None = None
        self._http: aiohttp.ClientSession | None = None
        self._socket_dir: Path | None = None
        self._legacy_url = settings.legacy_url.rstrip("/")

    # --- lifecycle ---------------------------------------------------------------------------------
    async def run(self) -> None:
        """Start, serve until :meth:`stop`, then stop HAProxy and forget the engine's row."""
        try:
            await self.start()
            await self._serve()
        finally:
            await self.shutdown()

    def stop(self) -> None:
        self._stopping.set()

    async def start(self) -> None:
        settings = self.settings
        loop = asyncio.get_running_loop()
        settings.run_dir.mkdir(parents=True, exist_ok=True)
        settings.run_dir.chmod(0o700)
        self._socket_dir = Path(tempfile.mkdtemp(prefix="strangler-haproxy-"))
        self._log_server = await loop.create_server(lambda: LogStream(self.stats), "127.0.0.1", 0)
        log_port = self._log_server.sockets[0].getsockname()[1]
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0))
        self._sidecar = IdentitySidecar(
            legacy_url=lambda: self._legacy_url,
            internal_token=settings.internal_token,
            identity_key=settings.identity_key(),
        )
        await self._sidecar.start(settings.engine_identity_port)
        overrides = settings.override_keys()
        self._layout = layout = EngineLayout(
            run_dir=settings.run_dir,
            socket_dir=self._socket_dir,
            front_host=settings.dataplane_host,
            front_port=settings.dataplane_port,
            status_port=settings.engine_status_port,
            log_address=f"127.0.0.1:{log_port}",
            override_key=overrides.current,
            override_previous=overrides.previous,
            override_previous_until=overrides.previous_until,
            session_cookie=settings.legacy_session_cookie,
            threads=settings.engine_threads,
            header_timeout_s=settings.header_timeout_s,
            keep_alive_timeout_s=settings.keep_alive_timeout_s,
            client_timeout_s=settings.body_idle_timeout_s,
            stop_grace_s=settings.engine_stop_grace_s,
            max_header_bytes=settings.engine_max_header_bytes,
            debug_headers=settings.debug_headers,
            identity=IdentityHook(
                self._sidecar.url,
                self._sidecar.token,
                settings.legacy_session_cookie,
                auth_schemes=auth_schemes(settings.identity_auth_schemes),
                cache_key=secrets.token_bytes(32),
            ),
        )
        render_lua(self._sidecar.url, self._sidecar.token, layout.lua_path)
        found = await asyncio.to_thread(self.store.poll, None)
        if found is None:
            table, generation, ready = self._bootstrap_table(), 0, False
        else:
            table, generation, ready = found.table, found.generation, True
        config = self._write_files(table, generation, ready=ready)
        check_config(settings.resolved_binary, layout.config_path)
        self._haproxy = HaproxyProcess(settings.resolved_binary, layout.config_path, layout.master_socket)
        self._haproxy.start()
        await self._verify(generation)
        self._served(table, generation, config, ready=ready)
        await asyncio.to_thread(self._heartbeat, applied=True)

    async def shutdown(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._haproxy is not None:
            await asyncio.to_thread(self._haproxy.stop, self.settings.engine_stop_grace_s + 1)
        await self._flush_stats(include_current=True)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.store.forget)
        if self._sidecar is not None:
            await self._sidecar.stop()
        if self._log_server is not None:
            self._log_server.close()
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    async def _serve(self) -> None:
        tasks = [
            asyncio.create_task(self._poll_forever(), name="engine-poll"),
            asyncio.create_task(self._stats_forever(), name="engine-stats"),
            asyncio.create_task(self._watch_haproxy(), name="engine-watch"),
        ]
        try:
            await self._stopping.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # --- applying tables ---------------------------------------------------------------------------
    def _bootstrap_table(self) -> RouteTable:
        legacy = Upstream(name=LEGACY, url=self.settings.legacy_url)
        return RouteTable(version=0, upstreams={LEGACY: legacy})

    def _structure(self, table: RouteTable) -> Structure:
        assert self._layout is not None
        return render_structure(table, self._layout, self._backends)

    def _write_structure(self, structure: Structure) -> None:
        assert self._layout is not None
        _write(self._layout.exact_map_path, structure.exact_map)
        _write(self._layout.prefix_map_path, structure.prefix_map)
        _write(self._layout.config_path, structure.config)

    def _write_files(self, table: RouteTable, generation: int, *, ready: bool) -> Structure:
        assert self._layout is not None
        structure = self._structure(table)
        _write(self._layout.map_path, render_map(map_entries(table, generation=generation, ready=ready)))
        self._write_structure(structure)
        return structure

    def _served(self, table: RouteTable, generation: int, config: Structure, *, ready: bool) -> None:
        self.version = table.version if ready else None
        self.generation = generation if ready else None
        self.applied_at = datetime.now(UTC)
        self._config_text = config
        self._backends = {**self._backends, **table.upstreams}
        self._legacy_url = table.upstreams[LEGACY].url.rstrip("/")
        logger.info("haproxy serves route table version %s (generation %s)", table.version, generation)

    async def apply(self, table: RouteTable, generation: int) -> None:
        """Make HAProxy serve ``table`` and wait until it says so."""
        assert self._layout is not None and self._haproxy is not None
        layout = self._layout
        skipped = front_door_problems(table, "haproxy")
        if skipped:
            logger.warning("version %s is served without: %s", table.version, "; ".join(skipped))
        config = self._structure(table)
        entries = map_entries(table, generation=generation, ready=True)
        if config == self._config_text:
            _write(layout.map_path, render_map(entries))
            await asyncio.to_thread(RuntimeApi(layout.admin_socket).replace_map, layout.map_path, entries)
        else:
            candidate = layout.config_path.with_name("haproxy.next.cfg")
            _write(candidate, config.config)
            try:
                await asyncio.to_thread(check_config, self.settings.resolved_binary, candidate)
            finally:
                candidate.unlink(missing_ok=True)
            _write(layout.map_path, render_map(entries))
            self._write_structure(config)
            await asyncio.to_thread(self._haproxy.reload)
        await self._verify(generation)
        self._served(table, generation, config, ready=True)
        await asyncio.to_thread(self._heartbeat, applied=True)

    async def poll_once(self) -> bool:
        """One look at the store; True when a new version was applied."""
        found = await asyncio.to_thread(self.store.poll, self.generation)
        if found is None or found.generation == self._refused_generation:
            return False
        try:
            await self.apply(found.table, found.generation)
        except (EngineConfigRefused, RuntimeApiError) as exc:
            self._refused_generation = found.generation
            logger.error(
                "route table version %s refused by haproxy, still serving version %s: %s",
                found.table.version,
                self.version,
                exc,
            )
            return False
        return True

    async def _verify(self, generation: int) -> None:
        """Wait until HAProxy's status port reports ``generation``."""
        assert self._http is not None
        url = f"http://127.0.0.1:{self.settings.engine_status_port}/_strangler/version"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.verify_timeout_s
        last: object = None
        while loop.time() < deadline:
            try:
                async with self._http.get(url) as response:
                    document = await response.json(content_type=None)
                if int(document["generation"]) == generation:
                    return
                last = document
            except (aiohttp.ClientError, ValueError, KeyError) as exc:
                last = exc
            if self._haproxy is not None and not self._haproxy.running():
                raise EngineNotServing(f"haproxy exited (code {self._haproxy.exit_code()})")
            await asyncio.sleep(0.01)
        raise EngineNotServing(f"haproxy did not report generation {generation} (last answer: {last!r})")

    # --- background --------------------------------------------------------------------------------
    async def _poll_forever(self) -> None:
        while True:
            try:
                await self.poll_once()
            except EngineNotServing as exc:
                logger.error("%s; trying again", exc)
            except Exception:
                logger.exception("route table poll failed (still serving version %s)", self.version)
            await asyncio.sleep(self.settings.poll_interval_s)

    async def _stats_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.stats_interval_s)
            await self._flush_stats(include_current=False)

    async def _flush_stats(self, *, include_current: bool) -> None:
        rows = self.stats.drain(include_current=include_current)
        try:
            await asyncio.to_thread(self.store.write_stats, rows)
            await asyncio.to_thread(self._heartbeat, applied=False)
        except Exception as exc:
            logger.warning("%d route_stats rows not written to the store: %s", len(rows), exc)

    def _heartbeat(self, *, applied: bool) -> None:
        self.store.heartbeat(
            version_id=self.version,
            generation=self.generation,
            applied_at=self.applied_at if applied else None,
        )

    async def _watch_haproxy(self) -> None:
        """Start HAProxy again (on the last verified table's files) when it exits."""
        assert self._haproxy is not None
        while True:
            await asyncio.sleep(_RESTART_BACKOFF_S)
            if self._haproxy.running():
                continue
            logger.error("haproxy exited with %s; starting it again", self._haproxy.exit_code())
            self._haproxy.start()
            if self.generation is not None:
                with contextlib.suppress(EngineNotServing):
                    await self._verify(self.generation)


def worker_name() -> str:
    """The engine's row in ``dataplane_workers``."""
    return f"haproxy@{socket.gethostname()}:{os.getpid()}"[:64]
