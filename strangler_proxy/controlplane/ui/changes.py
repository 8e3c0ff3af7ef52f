"""The two steps every change takes in the UI: a preview (the diff and any refusal, with the reason)
and the confirmed publish, which names the version it was previewed against so that a change made
in between is refused (409) instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from strangler_proxy.controlplane.errors import BadRequest, ControlPlaneError
from strangler_proxy.controlplane.parsing import bounded_int
from strangler_proxy.controlplane.service_layer.diff import TableDiff
from strangler_proxy.controlplane.service_layer.publishing import PublishResult
from strangler_proxy.controlplane.ui.diffview import diff_lines
from strangler_proxy.controlplane.ui.web import UI
from strangler_proxy.routes import RouteTable

__all__ = [
    "ROUTES_CHANGED",
    "apply_change",
    "change_lines",
    "form_drain_timeout",
    "form_force",
    "form_int",
    "form_reason",
    "form_text",
    "preview_change",
]

ROUTES_CHANGED = "routes-changed"
"""htmx event sent with every publish so the routes table refreshes in place."""
DRAIN_TIMEOUT_S = 10.0
MAX_DRAIN_TIMEOUT_S = 60.0


def form_text(form: FormData, key: str, *, required: bool = True) -> str:
    value = form.get(key)
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise BadRequest(f"{key.replace('_', ' ')} is required")
    return text


def form_reason(form: FormData) -> str:
    reason = form_text(form, "reason", required=False)
    if not reason:
        raise BadRequest("a reason is required for every change")
    return reason


def form_int(form: FormData, key: str, *, default: int | None = None) -> int | None:
    raw = form_text(form, key, required=False)
    if not raw:
        return default
    return bounded_int(raw, key)


def _describe(rule: Mapping[str, Any]) -> str:
    action = rule.get("action", {})
    mode = action.get("mode", "legacy")
    text = f"canary {action.get('weight', 0)}%" if mode == "canary" else str(mode)
    return text + (f" ({action['upstream']})" if mode != "legacy" and action.get("upstream") else "")


def change_lines(diff: TableDiff) -> list[str]:
    """One plain sentence per changed rule, e.g. ``catalog: legacy → canary 50% (catalog)``."""
    lines = [f"add route {name}" for name in diff.added_rules]
    lines += [f"remove route {name}" for name in diff.removed_rules]
    for name, change in diff.changed_rules.items():
        before, after = _describe(change["before"]), _describe(change["after"])
        lines.append(f"{name}: {before} → {after}" if before != after else f"{name}: settings changed")
    if diff.reordered:
        lines.append("rules reordered")
    return lines


async def preview_change(
    ui: UI,
    request: Request,
    *,
    title: str,
    candidate: Callable[[], RouteTable],
    apply_url: str,
    reason: str,
    fields: Mapping[str, Any] | None = None,
    button: str = "Publish",
    danger: bool = False,
) -> Response:
    """The confirm panel: the diff from the active version to ``candidate()`` and every refusal."""

    def compute() -> tuple[TableDiff, list[str]]:
        return ui.services.tables.preview(candidate())

    try:
        diff, problems = await run_in_threadpool(compute)
    except ControlPlaneError as exc:
        return ui.error(request, exc, title=title)
    return ui.render(
        request,
        "_confirm.html",
        {
            "title": title,
            "summary": diff.summary(),
            "changes": change_lines(diff),
            "problems": problems,
            "diff_lines": diff_lines(diff.text) if not diff.empty else [],
            "expected_version": diff.before,
            "reason": reason,
            "fields": {k: "" if v is None else v for k, v in (fields or {}).items()},
            "apply_url": apply_url,
            "button": button,
            "danger": danger,
        },
    )


async def apply_change(
    ui: UI, request: Request, *, title: str, publish: Callable[[], PublishResult]
) -> Response:
    """Run ``publish`` (a service-layer call) and show its outcome; success refreshes the routes table."""
    try:
        result = await run_in_threadpool(publish)
    except ControlPlaneError as exc:
        return ui.error(request, exc, title=title)
    return ui.render(
        request,
        "_result.html",
        {
            "title": title,
            "ok": True,
            "message": f"Published v{result.version} (was v{result.previous}): {result.diff.summary()}.",
            "problems": [],
        },
        headers={"HX-Trigger": ROUTES_CHANGED},
    )


def form_force(form: FormData) -> bool:
    """The "go ahead even if the reverse sync has not drained" checkbox of rollbacks and re-activations."""
    return form_text(form, "force", required=False).lower() in ("on", "true", "1")


def form_drain_timeout(form: FormData) -> float:
    """How long a rollback or re-activation waits for the reverse sync to drain (default 10 s, at most 60)."""
    raw = form_text(form, "drain_timeout_s", required=False)
    if not raw:
        return DRAIN_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"drain timeout must be a number of seconds, not {raw!r}") from None
    if not 0 <= value <= MAX_DRAIN_TIMEOUT_S:
        raise BadRequest(f"drain timeout must be between 0 and {MAX_DRAIN_TIMEOUT_S:g} s")
    return value
