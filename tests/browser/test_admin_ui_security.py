"""The admin UI in Chromium under its strict Content Security Policy: no page or panel breaks the policy
(no violation reported, the panels still open and close), and logging out ends the session on the
server: the cookie the browser had no longer opens anything."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM_ARGS, Stack
from tests.browser.test_admin_ui import VIEWPORT, _add_route, _log_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PAGES = ("/", "/history", "/audit", "/audit/denials", "/shadow", "/upstreams")
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${where}`);
});
"""


def _session_with(cookie: dict[str, str], url: str) -> int:
    request = urllib.request.Request(url, headers={"Cookie": f"{cookie['name']}={cookie['value']}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_no_page_breaks_the_content_security_policy_and_logout_ends_the_session(
    stack: Stack, chromium_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            context.add_init_script(RECORD_VIOLATIONS)
            page = context.new_page()
            page.set_default_timeout(15_000)
            expect.set_options(timeout=15_000)
            console_errors: list[str] = []
            page.on(
                "console",
                lambda message: (
                    console_errors.append(message.text) if "Content Security Policy" in message.text else None
                ),
            )
            _log_in(page, stack)
            _add_route(
                page,
                name="catalog",
                path="/api/products",
                upstream=stack.new_upstream,
                mode="legacy",
                reason="catalog service extracted",
                version=2,
            )
            # A panel swapped in by htmx opens, and its Cancel button (no inline handler) closes it.
            page.locator('tr[data-route="catalog"]').get_by_role("button", name="Flip…").click()
            panel = page.locator("#action-panel")
            expect(panel.locator("input[name=mode][value=canary]")).to_be_visible()
            panel.locator("input[name=mode][value=canary]").check()
            panel.locator("input[name=weight]").fill("30")
            expect(panel.locator("#flip-weight-out")).to_have_text("30%")
            panel.get_by_role("button", name="Cancel").click()
            expect(panel).to_be_empty()
            for path in PAGES:
                page.goto(stack.admin_url + path)
                expect(page.locator("header.topbar")).to_be_visible()
                if path == "/":
                    expect(page.locator("#live-dot.on")).to_be_visible()  # scripts ran, the stream is live
                page.wait_for_function("document.readyState === 'complete'")
                violations = page.evaluate("window.__cspViolations")
                assert violations == [], f"{path}: {violations}"
            assert console_errors == [], "Chromium reported no refusal by the policy either"

            cookie = next(c for c in context.cookies() if c["name"].endswith("strangler_session"))
            assert _session_with(cookie, stack.admin_url + "/api/v1/session") == 200
            page.get_by_role("button", name="Log out").click()
            expect(page).to_have_url(re.compile(r"/login$"))
            assert _session_with(cookie, stack.admin_url + "/api/v1/session") == 401
            page.goto(stack.admin_url + "/")
            expect(page).to_have_url(re.compile(r"/login\?next="))
        finally:
            browser.close()
