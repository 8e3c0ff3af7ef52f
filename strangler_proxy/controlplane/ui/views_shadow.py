"""The shadow viewer: parity per route over the last minutes and the recent mismatch samples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from strangler_proxy.controlplane.ui.diffview import diff_lines
from strangler_proxy.controlplane.ui.live import PARITY_WINDOW_S
from strangler_proxy.controlplane.ui.web import UI

__all__ = ["ShadowViews"]

WINDOW_S = PARITY_WINDOW_S
SAMPLE_LIMIT = 100


@dataclass(frozen=True)
class ParityRow:
    route: str
    matches: int
    mismatches: int
    errors: int
    parity: float | None

    @property
    def total(self) -> int:
        return self.matches + self.mismatches + self.errors


def _diff_summary(diff: str) -> str:
    """The first changed line of a mismatch, e.g. ``-  "side": "legacy"``, or its first line."""
    lines = [line for line in diff.splitlines() if line.strip()]
    changed = next((line for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---"))), None)
    return (changed or (lines[0] if lines else "show"))[:120]


class ShadowViews:
    def __init__(self, ui: UI) -> None:
        self.ui = ui

    def routes(self) -> list[Route]:
        return [Route("/shadow", self.page, methods=["GET"], name="ui-shadow")]

    def _data(self, route: str | None) -> dict[str, Any]:
        services = self.ui.services
        _pointer, record = services.tables.active()
        figures = services.observability.route_figures(record.table, window_s=WINDOW_S)
        summary = [
            ParityRow(
                route=f["route"],
                matches=f["shadow"]["matches"],
                mismatches=f["shadow"]["mismatches"],
                errors=f["shadow"]["errors"],
                parity=None if f["shadow"]["parity"] is None else 100 * f["shadow"]["parity"],
            )
            for f in figures
            if f["shadow"]["matches"] or f["shadow"]["mismatches"] or f["shadow"]["errors"]
        ]
        samples = [
            {
                **s,
                "at": s["at"][:19].replace("T", " "),
                "diff_summary": _diff_summary(s["diff"] or ""),
                "diff_lines": diff_lines(s["diff"]),
            }
            for s in services.observability.shadow_samples(route=route, limit=SAMPLE_LIMIT)
        ]
        return {"summary": summary, "samples": samples}

    async def page(self, request: Request) -> Response:
        await self.ui.require(request)
        route = request.query_params.get("route") or None
        data = await run_in_threadpool(self._data, route)
        return self.ui.render(
            request,
            "shadow.html",
            {"page_title": "Shadow", "nav": "shadow", "route": route, "window_s": WINDOW_S, **data},
        )
