"""The admin UI in a browser whose zone is not UTC (New York): the header, the tables and the charts'
axes show one 24-hour format with the zone named, and the times are UTC, not the browser's."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM_ARGS, Stack, admin_api
from tests.browser.test_admin_ui import VIEWPORT, _log_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]

ZONE = "America/New_York"
CLOCK = re.compile(r"^(\d{2}):(\d{2}):(\d{2}) UTC$")
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$")


def _seconds_from_now_utc(clock: str) -> float:
    """How far ``HH:MM:SS`` is from the UTC time now, in seconds (across midnight too)."""
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    now = datetime.now(UTC)
    shown = hours * 3600 + minutes * 60 + seconds
    actual = now.hour * 3600 + now.minute * 60 + now.second
    difference = abs(shown - actual) % 86_400
    return min(difference, 86_400 - difference)


def test_times_are_utc_24_hour_and_named_in_a_new_york_browser(
    stack: Stack, chromium_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT, timezone_id=ZONE, locale="en-US")
            page = context.new_page()
            page.set_default_timeout(15_000)
            expect.set_options(timeout=15_000)
            zone, offset = page.evaluate(
                "() => [Intl.DateTimeFormat().resolvedOptions().timeZone, new Date().getTimezoneOffset()]"
            )
            assert zone == ZONE and offset in (240, 300)  # the browser really is 4 or 5 hours behind
            _log_in(page, stack)

            # The header: 24-hour UTC, named, and the UTC time now (not New York's).
            updated = page.locator("#live-updated")
            expect(updated).to_have_text(CLOCK)
            assert _seconds_from_now_utc(updated.inner_text().removesuffix(" UTC")) < 30
            expect(page.locator(".topbar .clock")).to_have_text("times in UTC")

            # The charts' axes: the zone in the title, 24-hour UTC ticks.
            axes = page.evaluate(
                """() => Object.values(Chart.instances).map(chart => {
                    const x = chart.scales.x;
                    return {
                        title: chart.options.scales.x.title.text,
                        ticks: x.ticks.map(tick => x.getLabelForValue(tick.value)),
                        last: chart.data.labels.slice(-1)[0],
                    };
                })"""
            )
            assert axes, "no chart on the routes page"
            for axis in axes:
                assert axis["title"] == "time (UTC)"
                assert axis["ticks"] and all(re.fullmatch(r"\d{2}:\d{2}:\d{2}", t) for t in axis["ticks"])
                assert _seconds_from_now_utc(axis["last"]) < 30, axis

            # The tables: the same format, named, and the instants the API gives in UTC.
            opener = admin_api(stack)
            with opener.open(f"{stack.admin_url}/api/v1/versions", timeout=10) as answer:
                versions = json.loads(answer.read())["versions"]
            created = {v["version"]: datetime.fromisoformat(v["created_at"]) for v in versions}
            page.get_by_role("link", name="History", exact=True).click()
            first = page.locator("tr[data-version]").first
            version = int(first.get_attribute("data-version") or 0)
            cell = first.locator("td.mono").first
            expect(cell).to_have_text(STAMP)
            assert cell.inner_text() == created[version].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

            with opener.open(f"{stack.admin_url}/api/v1/audit?limit=1", timeout=10) as answer:
                entry = json.loads(answer.read())["entries"][0]
            page.get_by_role("link", name="Audit log", exact=True).click()
            expect(page.locator("th", has_text="When (UTC)")).to_be_visible()
            when = page.locator("tbody tr td.mono").first
            expect(when).to_have_text(STAMP)
            at = datetime.fromisoformat(entry["at"]).astimezone(UTC)
            shown = page.locator("tbody tr td.mono").all_inner_texts()  # newer entries may come first
            assert at.strftime("%Y-%m-%d %H:%M:%S UTC") in shown, shown
        except BaseException:
            page.screenshot(path=str(artifacts_dir / "failure.png"))
            (artifacts_dir / "failure.html").write_text(page.content())
            raise
        finally:
            browser.close()
