"""The admin UI's calmer details in Chromium: the panel closes after a publish, one 24-hour UTC time
format (chart axes included), no meaningless cells, guard settings visible and editable with an audit
entry, the same top bar on every page, and a favicon."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM_ARGS, Stack, admin_api
from tests.browser.test_admin_ui import VIEWPORT, Shots, _add_route, _log_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CLOCK = re.compile(r"^\d{2}:\d{2}:\d{2} UTC$")


def test_an_operators_day_in_the_admin_ui(stack: Stack, chromium_path: Path, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(15_000)
            expect.set_options(timeout=15_000)
            shots = Shots(page, artifacts_dir)
            _log_in(page, stack)

            # A favicon, linked from every page and served.
            icon = page.locator('link[rel="icon"]').get_attribute("href")
            assert icon and page.request.get(stack.admin_url + icon).ok

            # One time format: 24-hour UTC in the header and on the charts' axes.
            expect(page.locator("#live-updated")).to_have_text(CLOCK)
            labels = page.evaluate(
                "() => Object.values(Chart.instances).map(c => c.data.labels.slice(-1)[0]).filter(Boolean)"
            )
            assert labels and all(re.fullmatch(r"\d{2}:\d{2}:\d{2}", label) for label in labels), labels

            # Publishing closes the panel (it would hide the Guard, Parity and p99 columns).
            _add_route(
                page, name="reads", path="/api/products", upstream=stack.new_upstream, mode="legacy",
                reason="reads", version=2,
            )  # fmt: skip
            expect(page.locator('tr[data-route="reads"] td:nth-child(11)')).to_be_visible()
            expect(page.locator("#active-version")).to_have_text("v2")  # the top bar follows at once

            # No meaningless cells: the unmatched row has no new side, a legacy route no weight or parity.
            unmatched = page.locator('tr[data-route="-"]')
            expect(unmatched.locator('[data-live^="new."]')).to_have_count(0)
            reads = page.locator('tr[data-route="reads"]')
            expect(reads.locator("[data-weight]")).to_have_text("")
            expect(reads.locator('[data-live="parity"]')).to_have_count(0)

            # Guard settings are visible and editable, and the change is audited like a flip.
            reads.locator('[data-live="guard"]').click()
            form = page.get_by_test_id("guard-form")
            expect(form.locator("[name=failing_windows]")).to_have_value("5")
            form.locator("[name=failing_windows]").fill("3")
            form.locator("[name=reason]").fill("fewer windows for this route")
            shots("guard-form")
            form.get_by_role("button", name="Save guard").click()
            expect(page.locator("#toast")).to_contain_text("failing_windows 3")
            expect(page.locator("#action-panel")).to_be_empty()
            with admin_api(stack).open(
                f"{stack.admin_url}/api/v1/audit?action=guard.configure", timeout=10
            ) as answer:
                entry = json.loads(answer.read())["entries"][0]
            assert entry["target"] == "reads" and entry["reason"] == "fewer windows for this route"
            assert entry["evidence"]["settings"]["failing_windows"] == 3

            # The same top bar on every page, with the active version.
            for link in ("History", "Audit log", "Shadow", "Upstreams", "Routes"):
                page.get_by_role("link", name=link, exact=True).click()
                expect(page.locator("#active-version")).to_have_text("v2")
                expect(page.locator(".topbar .clock")).to_have_text("times in UTC")
            page.get_by_role("link", name="History", exact=True).click()
            expect(page.locator("tr[data-version] td.mono").first).to_have_text(
                re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$")
            )
        except BaseException:
            page.screenshot(path=str(artifacts_dir / "failure.png"))
            (artifacts_dir / "failure.html").write_text(page.content())
            raise
        finally:
            browser.close()
