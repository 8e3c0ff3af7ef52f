"""Version history: every version, the diff between any two, and re-activation of an old one."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from strangler_proxy.controlplane.errors import ControlPlaneError
from strangler_proxy.controlplane.parsing import bounded_int
from strangler_proxy.controlplane.service_layer.auth import Role
from strangler_proxy.controlplane.service_layer.clock import as_utc
from strangler_proxy.controlplane.ui.changes import (
    apply_change,
    change_lines,
    form_drain_timeout,
    form_force,
    form_int,
    form_reason,
    preview_change,
)
from strangler_proxy.controlplane.ui.diffview import diff_lines
from strangler_proxy.controlplane.ui.web import UI

__all__ = ["HistoryViews", "VersionRow"]

HISTORY_LIMIT = 100


@dataclass(frozen=True)
class VersionRow:
    id: int
    created_at: str
    author: str
    reason: str
    parent_id: int | None
    rules: int


def _version_param(request: Request, key: str) -> int:
    raw = request.query_params.get(key) or request.path_params.get(key)
    return bounded_int(raw, f"{key} (a version number)", low=1)


class HistoryViews:
    def __init__(self, ui: UI) -> None:
        self.ui = ui

    def routes(self) -> list[Route]:
        return [
            Route("/history", self.page, methods=["GET"], name="ui-history"),
            Route("/ui/history/diff", self.diff, methods=["GET"], name="ui-history-diff"),
            Route("/ui/versions/{version}/reactivate", self.form, methods=["GET"], name="ui-reactivate-form"),
            Route(
                "/ui/versions/{version}/reactivate/preview",
                self.preview,
                methods=["POST"],
                name="ui-reactivate-preview",
            ),
            Route(
                "/ui/versions/{version}/reactivate",
                self.apply,
                methods=["POST"],
                name="ui-reactivate-apply",
            ),
        ]

    def _rows(self) -> tuple[int, int, list[VersionRow]]:
        tables = self.ui.services.tables
        pointer, _record = tables.active()
        rows = [
            VersionRow(
                id=v.id,
                created_at=as_utc(v.created_at).strftime("%Y-%m-%d %H:%M:%S UTC"),
                author=v.author,
                reason=v.reason,
                parent_id=v.parent_id,
                rules=len(v.table.rules),
            )
            for v in tables.history(limit=HISTORY_LIMIT)
        ]
        return pointer.version_id, pointer.generation, rows

    async def page(self, request: Request) -> Response:
        await self.ui.require(request)
        active, generation, rows = await run_in_threadpool(self._rows)
        return self.ui.render(
            request,
            "history.html",
            {
                "page_title": "History",
                "nav": "history",
                "active_version": active,
                "generation": generation,
                "versions": rows,
            },
        )

    async def diff(self, request: Request) -> Response:
        await self.ui.require(request)
        try:
            a, b = _version_param(request, "a"), _version_param(request, "b")
            change = await run_in_threadpool(self.ui.services.tables.diff, a, b)
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title="Diff")
        return self.ui.render(
            request,
            "_history_diff.html",
            {"a": a, "b": b, "changes": change_lines(change), "diff_lines": diff_lines(change.text)},
        )

    async def form(self, request: Request) -> Response:
        await self.ui.require(request, Role.OPERATOR)
        try:
            version = _version_param(request, "version")
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title="Re-activate")
        return self.ui.render(request, "_reactivate_form.html", {"version": version})

    async def preview(self, request: Request) -> Response:
        _principal, form = await self.ui.require_change(request)
        try:
            version = _version_param(request, "version")
            reason = form_reason(form)
            force = form_force(form)
            drain_timeout_s = form_drain_timeout(form)
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title=f"Re-activate v{request.path_params['version']}")
        tables = self.ui.services.tables
        return await preview_change(
            self.ui,
            request,
            title=f"Re-activate v{version}",
            candidate=lambda: tables.version(version).table,
            apply_url=str(request.app.url_path_for("ui-reactivate-apply", version=version)),
            reason=reason,
            fields={"force": "on" if force else "", "drain_timeout_s": drain_timeout_s},
            button=f"Re-activate v{version}",
        )

    async def apply(self, request: Request) -> Response:
        principal, form = await self.ui.require_change(request)
        try:
            version = _version_param(request, "version")
            reason = form_reason(form)
            expected = form_int(form, "expected_version")
            force = form_force(form)
            drain_timeout_s = form_drain_timeout(form)
            publishing = self.ui.services.publishing
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title=f"Re-activate v{request.path_params['version']}")
        actor = self.ui.actor(request, principal)
        return await apply_change(
            self.ui,
            request,
            title=f"Re-activate v{version}",
            publish=lambda: publishing.reactivate(
                version,
                actor=actor,
                reason=reason,
                expected_version=expected,
                force=force,
                wait_s=drain_timeout_s,
            ),
        )
