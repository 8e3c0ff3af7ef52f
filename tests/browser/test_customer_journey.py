"""The customer's journey in a browser, through the front door, on both sides of the orders flip: log in,
browse, add to cart (the header counts it), check out, and land on the thank-you page, the order's page
with the monolith's "Thank you!" message. After the flip that page is the orders service's (the order
placed on the monolith a moment before, read there at once): the customer sees what they saw before.

Real processes: LegacyShop and the orders service under gunicorn, the sync workers, the data plane;
Debian's Chromium driven by Playwright."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM_ARGS
from tests.integration.sync.seam import Seam, running_seam, to_orders

pytestmark = [pytest.mark.browser, pytest.mark.integration]

DEMO = ("demo", "demo-password-123")
_VOLATILE = (
    (re.compile(r"ORD-\d{8}-\d+"), "<order>"),
    (re.compile(r"Placed \d{4}-\d{2}-\d{2} \d{2}:\d{2}"), "Placed <time>"),
)


@pytest.fixture(scope="module")
def seam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seam]:
    with running_seam(tmp_path_factory.mktemp("journey")) as running:
        yield running


def _masked(text: str) -> str:
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def _journey(seam: Seam, chromium: Path, product_id: int) -> tuple[str, str, str]:
    """The customer's steps; (the header after adding, the thank-you page's text, who served it)."""
    from playwright.sync_api import sync_playwright

    base = seam.dataplane.url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/accounts/login/")
            page.fill("input[name=username]", DEMO[0])
            page.fill("input[name=password]", DEMO[1])
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            assert f"Log out {DEMO[0]}" in page.inner_text("header")
            page.goto(f"{base}/products/{product_id}/")
            page.fill("input[name=quantity]", "2")
            page.click("text=Add to cart")
            page.wait_for_url(f"{base}/cart/")
            assert "to your cart." in page.inner_text("ul.messages")
            header = page.inner_text("header")
            page.goto(f"{base}/checkout/")
            with page.expect_response(re.compile(r"/orders/ORD-[^/]+/$")) as thanked:
                page.click("text=Place order")
            page.wait_for_load_state()
            served_by = thanked.value.headers.get("x-strangler-upstream", "")
            assert thanked.value.status == 200, page.content()[:2000]
            return header, page.inner_text("body"), served_by
        finally:
            browser.close()


def test_the_customer_sees_the_same_journey_on_both_sides_of_the_orders_flip(
    seam: Seam, chromium_path: Path
) -> None:
    product_id = int(
        seam.stack.scalar(
            "legacy", "SELECT min(prd_id) FROM tbl_product WHERE sts_cd = 'A' AND stk_qty >= 10"
        )
    )
    seam.publish([])  # before the flip: the monolith answers everything
    before = _journey(seam, chromium_path, product_id)
    seam.publish(
        [
            to_orders("order-pages", "/orders/", {"GET", "HEAD"}),
            to_orders("order-api", "/api/orders", {"GET", "HEAD", "POST"}),
        ]
    )
    after = _journey(seam, chromium_path, product_id)
    assert (before[2], after[2]) == ("legacy", "orders")
    assert "Cart (2)" in before[0] and after[0] == before[0]
    assert "Thank you! Your order ORD-" in before[1] and "Cart (0)" in before[1]
    assert _masked(after[1]) == _masked(before[1])
