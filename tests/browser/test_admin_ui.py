"""The admin UI in Chromium against a real control plane and data plane under traffic.

An operator logs in, adds a route, flips it to canary 50% (reason, diff preview, publish), watches
the live figures of both sides move, rolls it back to legacy, and finds both actions in the audit
log. Screenshots go to the test's artifacts; with UPDATE_DOCS_SCREENSHOTS=1 they also refresh the
ones in docs/img used by docs/admin-ui.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM_ARGS, Stack, admin_api, api_call
from tests.browser.traffic import Traffic
from tests.support.processes import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.integration]

VIEWPORT = {"width": 1366, "height": 768}
LIVE_TIMEOUT_MS = 25_000
DOCS_IMG = ROOT / "docs" / "img"


def _float(text: str) -> float:
    try:
        return float(text.rstrip("%"))
    except ValueError:
        return 0.0


class Shots:
    """Saves screenshots as artifacts, and into docs/img when asked to."""

    def __init__(self, page, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
        self.page = page
        self.artifacts = artifacts
        self.update_docs = os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1"

    def __call__(self, name: str) -> None:
        path = self.artifacts / f"{name}.png"
        self.page.screenshot(path=str(path))
        if self.update_docs:
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_IMG / f"{name}.png")


def _active_version(stack: Stack) -> int:
    """The active version, as the admin API reports it."""
    with admin_api(stack).open(f"{stack.admin_url}/api/v1/versions/active", timeout=10) as response:
        return int(json.loads(response.read())["version"])


def _wait_live(page, route: str, side: str, predicate: str) -> None:  # type: ignore[no-untyped-def]
    """Wait until the live requests/s cell of ``route``/``side`` satisfies ``predicate``: ``"v > 0"`` or
    ``"v === 0"`` (compared in the page; the page's policy allows no eval of a predicate string)."""
    positive = {"v > 0": True, "v === 0": False}[predicate]
    page.wait_for_function(
        """([route, side, positive]) => {
            const cell = document.querySelector(`tr[data-route="${route}"] [data-live="${side}.rps"]`);
            if (!cell) return false;
            const parsed = parseFloat(cell.textContent);
            const v = isNaN(parsed) ? 0 : parsed;
            return positive ? v > 0 : v === 0;
        }""",
        arg=[route, side, positive],
        timeout=LIVE_TIMEOUT_MS,
    )


def _record_sync_lag(home: Path) -> None:
    """Lag rows as the sync relays write them, in the sync database the control plane reads by default:
    the catalog's reverse relay ("reverse") and the orders service's ("reverse:orders")."""
    from sqlalchemy import create_engine

    from acl.sync.core.lag import DirectionLag, store_lag
    from acl.sync.core.tables import sync_metadata

    (home / "sync").mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{home / 'sync' / 'sync.sqlite3'}")
    try:
        sync_metadata.create_all(engine)
        store_lag(
            engine,
            [
                DirectionLag("forward", 0.0, 0, None),
                DirectionLag("reverse", 0.0, 0, None, 0),
                DirectionLag("reverse:orders", 1500.0, 4, None, 2),
            ],
        )
    finally:
        engine.dispose()


def _log_in(page, stack: Stack, shots: Shots | None = None) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(stack.admin_url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    page.fill("#username", "admin")
    page.fill("#password", stack.admin_password)
    if shots is not None:
        shots("login")
    page.click("button[type=submit]")
    expect(page.locator("#routes-table")).to_be_visible()
    expect(page.locator("#live-dot.on")).to_be_visible()


def _add_route(page, *, name: str, path: str, upstream: str, mode: str, reason: str, version: int) -> None:  # type: ignore[no-untyped-def]
    """Fill the add-route form, check the diff preview, publish, and close the panel."""
    from playwright.sync_api import expect

    form = page.locator("#new-route form")
    form.locator("[name=name]").fill(name)
    form.locator("[name=path]").fill(path)
    form.locator("[name=upstream]").select_option(upstream)
    form.locator("[name=mode]").select_option(mode)
    form.locator("[name=reason]").fill(reason)
    form.locator("button[type=submit]").click()
    panel = page.locator("#action-panel")
    expect(panel.get_by_test_id("diff")).to_contain_text(f'"path": "{path}"')
    panel.get_by_role("button", name="Add route").click()
    # A publish closes the panel by itself and says so in the toast, which hides no column.
    expect(page.locator("#toast")).to_contain_text(f"Published v{version}")
    expect(panel).to_be_empty()
    expect(page.locator(f'tr[data-route="{name}"] [data-mode]')).to_have_text(mode)


def test_operator_flips_a_route_to_canary_watches_it_live_rolls_back_and_audits(
    stack: Stack, chromium_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    route = "catalog"
    # This test is about the operator's controls: with the guard off, a slow machine's latency spike
    # cannot roll the canary back before the operator does. (The other test lets the guard act.)
    api_call(admin_api(stack), "PUT", f"{stack.admin_url}/api/v1/guards/{route}", {"enabled": False})
    urls = [f"{stack.dataplane_url}/api/products/{n}" for n in range(1, 4)] + [f"{stack.dataplane_url}/about"]
    with Traffic(urls, threads=2, rate=30) as traffic, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(15_000)
            expect.set_options(timeout=15_000)  # a busy CI machine answers slower than a laptop
            shots = Shots(page, artifacts_dir)

            _log_in(page, stack, shots)
            # The sync box lists every direction the relays record, one the page did not know included.
            _record_sync_lag(stack.home)
            orders = page.locator('tr[data-sync-direction="reverse:orders"]')
            expect(orders).to_contain_text("reverse:orders (orders → legacy)")
            expect(orders.locator('[data-sync="backlog"]')).to_have_text("4")
            expect(orders.locator('[data-sync="dead"]')).to_have_text("2")
            expect(page.locator('tr[data-sync-direction="reverse"] [data-sync="dead"]')).to_have_text("0")
            _add_route(
                page,
                name=route,
                path="/api/products",
                upstream=stack.new_upstream,
                mode="legacy",
                reason="catalog service extracted",
                version=2,
            )
            row = page.locator(f'tr[data-route="{route}"]')
            panel = page.locator("#action-panel")

            # Under traffic, the route's legacy side moves; the new side stays at zero.
            _wait_live(page, route, "legacy", "v > 0")

            # Flip to canary 50%: the slider, a reason, the diff, then publish.
            row.get_by_role("button", name="Flip…").click()
            panel.locator("input[name=mode][value=canary]").check()
            panel.locator("input[name=weight]").fill("50")
            expect(panel.locator("#flip-weight-out")).to_have_text("50%")
            panel.locator("[name=reason]").fill("canary at half the users")
            shots("flip-form")
            panel.get_by_role("button", name="Preview diff…").click()
            diff = panel.get_by_test_id("diff")
            expect(diff.locator(".add")).to_contain_text(['"mode": "canary"', '"weight": 50'])
            shots("flip-diff")
            panel.get_by_role("button", name=re.compile("^Publish")).click()
            # A flip that moves writes is a handover: the fence is one version, the flip the next.
            flipped = _active_version(stack)
            expect(page.locator("#toast")).to_contain_text(f"Published v{flipped}")
            expect(panel).to_be_empty()
            expect(row.locator("[data-mode]")).to_have_text("canary")
            expect(row.locator("[data-weight]")).to_have_text("50%")
            expect(row.locator('[data-live="guard"]')).to_have_text("disabled")
            # The data plane's worker reports serving the new version.
            expect(page.locator("#workers-status")).to_have_text(f"1/1 workers on v{flipped}")

            # The live figures move without a reload: both sides now serve the route.
            _wait_live(page, route, "new", "v > 0")
            _wait_live(page, route, "legacy", "v > 0")
            expect(row.locator('[data-live="new.p50"]')).not_to_have_text("—")
            # Let the charts draw a few more one-second points (longer when refreshing the docs' images).
            page.wait_for_timeout(20_000 if shots.update_docs else 1500)
            shots("routes-canary-live")

            # Roll back to legacy: reason, diff, confirm. The rollback is a handover that waits for the
            # catalog's reverse relay: its row says, freshly, that nothing is pending.
            _record_sync_lag(stack.home)
            row.get_by_role("button", name="Roll back…").click()
            panel.locator("[name=reason]").fill("p99 looks worse than legacy")
            panel.get_by_role("button", name="Preview diff…").click()
            expect(panel.get_by_test_id("diff").locator(".add")).to_contain_text(['"mode": "legacy"'])
            shots("rollback-diff")
            panel.get_by_role("button", name=f"Roll back {route}").click()
            rolled_back = _active_version(stack)
            assert rolled_back > flipped
            expect(page.locator("#toast")).to_contain_text(f"Published v{rolled_back}")
            expect(panel).to_be_empty()
            expect(row.locator("[data-mode]")).to_have_text("legacy")
            # The new side drains: nothing reaches it once the window has passed.
            _wait_live(page, route, "new", "v === 0")
            _wait_live(page, route, "legacy", "v > 0")

            # Both actions are in the audit log, with who, why and the versions.
            page.get_by_role("link", name="Audit log").click()
            flip = page.locator('tr[data-action="flip"]').first
            expect(flip).to_contain_text("admin")
            expect(flip).to_contain_text("canary at half the users")
            expect(flip).to_contain_text(f"→ v{flipped}")
            rollback = page.locator('tr[data-action="rollback"]').first
            expect(rollback).to_contain_text("p99 looks worse than legacy")
            expect(rollback).to_contain_text(f"→ v{rolled_back}")
            page.locator("#f-action").select_option("flip")
            expect(page).to_have_url(re.compile(r"action=flip"))
            expect(page.locator("#audit-rows tbody tr[data-action]")).to_have_count(1)
            page.locator("#f-action").select_option("")
            flip.locator("summary", has_text="diff").click()
            shots("audit")

            page.get_by_role("link", name="History").click()
            expect(page.locator("tr[data-version]")).to_have_count(rolled_back)
            page.locator(f'tr[data-version="{flipped}"]').get_by_role(
                "button", name=re.compile(r"^Diff vs v\d+$")
            ).click()
            expect(page.locator("#diff-result").get_by_test_id("diff")).to_contain_text('"weight": 50')
            shots("history")

            page.get_by_role("link", name="Upstreams").click()
            for name in ("legacy", stack.new_upstream):
                expect(page.locator(f'tr[data-upstream="{name}"]')).to_contain_text("healthy")
            expect(page.locator('tr[data-upstream="legacy"]')).to_contain_text("everything unmatched")
            shots("upstreams")
        except BaseException:
            page.screenshot(path=str(artifacts_dir / "failure.png"))
            (artifacts_dir / "failure.html").write_text(page.content())
            raise
        finally:
            browser.close()
    assert traffic.statuses[200] > 0, traffic.statuses
    assert not traffic.errors, traffic.errors[:5]
    assert set(traffic.statuses) == {200}, traffic.statuses


def test_a_shadowed_route_shows_its_mismatches_and_the_guard_returns_it_to_legacy_live(
    stack: Stack, chromium_path: Path, artifacts_dir: Path
) -> None:
    """The two upstreams answer different bodies, so every shadow comparison mismatches: the page shows
    the parity fall, the shadow viewer lists the mismatches, and the guard rolls the route back to
    legacy by itself; the open page follows the new version without a reload."""
    from playwright.sync_api import expect, sync_playwright

    route = "catalog"
    urls = [f"{stack.dataplane_url}/api/products/{n}" for n in range(1, 4)]
    with Traffic(urls, threads=2, rate=30), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(15_000)
            expect.set_options(timeout=15_000)  # a busy CI machine answers slower than a laptop
            shots = Shots(page, artifacts_dir)
            _log_in(page, stack)
            _add_route(
                page,
                name=route,
                path="/api/products",
                upstream=stack.new_upstream,
                mode="shadow",
                reason="compare the catalog service with legacy",
                version=2,
            )
            row = page.locator(f'tr[data-route="{route}"]')
            # No reload from here on: the guard's publish reaches this page through the event stream.
            expect(row.locator('[data-live="parity"]')).to_have_text("0.0%", timeout=LIVE_TIMEOUT_MS)
            expect(row.locator('[data-live="guard"]')).to_have_text(re.compile("failing|tripped"))
            shots("routes-shadow-failing")
            expect(row.locator("[data-mode]")).to_have_text("legacy", timeout=LIVE_TIMEOUT_MS)
            expect(row.locator('[data-live="guard"]')).to_have_text("tripped")
            expect(page.locator("#active-version")).to_have_text("v3")

            page.get_by_role("link", name="Shadow").click()
            summary = page.locator("table.grid").first.locator("tbody tr", has_text=route)
            expect(summary).to_contain_text("0.00%")
            # A body mismatch (the list may also hold comparisons cut short by the rollback itself).
            mismatch = page.locator("table.grid").nth(1).locator("tbody tr", has_text='"side"').first
            expect(mismatch).to_contain_text("GET /api/products/")
            mismatch.locator("summary").click()
            expect(mismatch.locator(".diff .del")).to_contain_text(['"side": "legacy"'])
            expect(mismatch.locator(".diff .add")).to_contain_text(['"side": "new"'])
            shots("shadow")

            page.get_by_role("link", name="Audit log").click()
            page.locator("#f-actor").fill("guard")
            page.locator("#f-actor").press("Enter")
            expect(page).to_have_url(re.compile(r"actor=guard"))
            entry = page.locator('#audit-rows tr[data-action="rollback"]')
            expect(entry).to_have_count(1)
            expect(entry).to_contain_text("v2 → v3")
            entry.locator("summary", has_text="evidence").click()
            expect(entry.locator("pre.mono")).to_contain_text("parity")
            shots("audit-guard")
        except BaseException:
            page.screenshot(path=str(artifacts_dir / "failure.png"))
            (artifacts_dir / "failure.html").write_text(page.content())
            raise
        finally:
            browser.close()
