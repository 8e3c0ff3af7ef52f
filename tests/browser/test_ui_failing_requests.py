"""A route's page in Chromium lists the route's recent failing requests, each linked to its trace in the
configured trace UI (``STRANGLER_TRACE_UI_REQUEST_URL`` filled with the request's trace id), against a
real control plane and data plane whose route's new upstream is stopped."""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM_ARGS, Stack, admin_api, api_call
from tests.browser.test_admin_ui import VIEWPORT, _log_in
from tests.support.net import free_port

pytestmark = [pytest.mark.browser, pytest.mark.integration]

TRACE_UI = "http://127.0.0.1:16686/trace/{trace_id}"
ROUTE = "broken"


@pytest.mark.parametrize(
    "stack_env",
    [
        {
            "STRANGLER_TRACE_UI_REQUEST_URL": TRACE_UI,
            "STRANGLER_GUARDS_ENABLED": "false",  # the failing route is not rolled back
            "STRANGLER_FAILING_REQUESTS_INTERVAL_S": "0.2",
        }
    ],
)
def test_the_route_page_links_each_failing_request_to_its_trace(
    stack: Stack, chromium_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    opener = admin_api(stack)
    api = f"{stack.admin_url}/api/v1"
    api_call(opener, "PUT", f"{api}/upstreams/stopped", {"url": f"http://127.0.0.1:{free_port()}"})
    rule = {
        "name": ROUTE,
        "match": {"kind": "prefix", "path": "/broken"},
        "action": {"mode": "new", "upstream": "stopped", "fallback": "none"},
    }
    api_call(opener, "POST", f"{api}/routes", {"rule": rule, "reason": "a route to a stopped upstream"})
    trace_id = secrets.token_hex(16)
    deadline = time.monotonic() + 20
    request_id = ""
    while not request_id:  # once the data plane has applied the version, the stopped upstream: 502
        assert time.monotonic() < deadline, "the data plane never answered 502 on the new route"
        request = urllib.request.Request(
            f"{stack.dataplane_url}/broken/7?token=s3cr3t",
            headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
        )
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except urllib.error.HTTPError as error:
            if error.code == 502:
                request_id = error.headers["x-request-id"]
        time.sleep(0.05)

    def listed() -> bool:
        with opener.open(f"{api}/stats/{ROUTE}/failing-requests", timeout=10) as answer:
            return any(r["request_id"] == request_id for r in json.loads(answer.read())["requests"])

    deadline = time.monotonic() + 20
    while not listed():
        assert time.monotonic() < deadline, "the failing request never reached the admin API"
        time.sleep(0.1)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.set_default_timeout(15_000)
            expect.set_options(timeout=15_000)
            _log_in(page, stack)
            page.locator(f'tr[data-route="{ROUTE}"] a', has_text=ROUTE).click()
            page.wait_for_url(f"**/routes/{ROUTE}")
            row = page.locator(f'#failing-requests tr[data-request-id="{request_id}"]')
            expect(row).to_contain_text("GET /broken/{int}")
            expect(row).to_contain_text("502")
            expect(row).to_contain_text("upstream_unreachable")
            expect(page.locator("#failing-requests")).not_to_contain_text("s3cr3t")
            link = row.get_by_role("link", name="trace")
            expect(link).to_have_attribute("href", TRACE_UI.replace("{trace_id}", trace_id))
            page.screenshot(path=str(artifacts_dir / "route-failing-requests.png"), full_page=True)
        finally:
            browser.close()
