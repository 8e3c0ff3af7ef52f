"""Point 3: paths. Route matching sees the same normalised path that Django and Flask will act on.

A rule sends ``/api/products`` to the new service; no spelling of that path reaches the legacy (and
no spelling of another path reaches the new service) by way of ``//``, dot segments, encoded dots or
slashes. An encoded slash is decoded before matching, as the frameworks' WSGI servers decode it.
Decisions: both frameworks are case-sensitive, so ``/API/products`` is another path (it goes to the
legacy, which answers 404 for it as Django does); a trailing slash stays under the prefix rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strangler_proxy.dataplane.paths import PathRefused, normalise_path
from strangler_proxy.routes import Rule, Upstream
from tests.integration.dataplane.harness import DataPlaneProcess, Store, start_dataplane, table
from tests.security.rawclient import exchange
from tests.security.recorder import RecordingUpstream


@dataclass
class Sides:
    dataplane: DataPlaneProcess
    legacy: RecordingUpstream
    new: RecordingUpstream


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sides]:
    tmp = tmp_path_factory.mktemp("paths")
    legacy, new = RecordingUpstream().start(), RecordingUpstream().start()
    store = Store(tmp / "store.sqlite3")
    dataplane = start_dataplane(tmp / "home", store, legacy.url)
    try:
        rules = [
            Rule.model_validate(
                {
                    "name": "products",
                    "match": {"kind": "prefix", "path": "/api/products"},
                    "action": {"mode": "new", "upstream": "catalog", "fallback": "none"},
                }
            )
        ]
        version = store.publish(
            table([Upstream(name="legacy", url=legacy.url), Upstream(name="catalog", url=new.url)], rules)
        )
        store.wait_applied(version, workers=1)
        yield Sides(dataplane, legacy, new)
    finally:
        dataplane.process.stop()
        legacy.stop()
        new.stop()
        store.engine.dispose()


def _get(sides: Sides, target: str) -> tuple[int, str | None, str | None]:
    """(status, target the legacy saw, target the new service saw) for one request."""
    sides.legacy.requests.clear()
    sides.new.requests.clear()
    payload = f"GET {target} HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n".encode()
    result = exchange(sides.dataplane.port, payload, timeout=10)
    assert len(result.statuses) == 1, result
    legacy = sides.legacy.paths()[0] if sides.legacy.requests else None
    new = sides.new.paths()[0] if sides.new.requests else None
    return result.statuses[0], legacy, new


@pytest.mark.integration
@pytest.mark.parametrize(
    ("target", "forwarded"),
    [
        ("/api/products", "/api/products"),
        ("/api//products", "/api/products"),
        ("//api///products/", "/api/products/"),
        ("/api/products/", "/api/products/"),
        ("/api/products/7?x=1", "/api/products/7?x=1"),
        ("/api/%70roducts", "/api/%70roducts"),
        # Django and Flask decode %2F before routing: both act on /api/products, as the matcher does.
        ("/api%2fproducts", "/api%2fproducts"),
        ("/api%2Fproducts/7", "/api%2Fproducts/7"),
    ],
)
def test_every_spelling_of_a_new_path_reaches_the_new_side(sides: Sides, target: str, forwarded: str) -> None:
    assert _get(sides, target) == (200, None, forwarded)


@pytest.mark.integration
@pytest.mark.parametrize(
    "target",
    [
        "/api/./products",
        "/api/products/../../admin",
        "/x/../api/products",
        "/api/%2e%2e/admin",
        "/api/%2E/products",
        "/api/.%2e/admin",
        "/api%2f..%2fadmin",
        "/api%2f%2fproducts",
        "/x%2f%2e%2e%2fapi/products",
        "/api/products%5c..%5cadmin",
        "/api\\products",
        "/api/products%00",
        "/api/products%0d%0aX-Injected:%201",
    ],
)
def test_ambiguous_paths_are_refused_before_either_side_sees_them(sides: Sides, target: str) -> None:
    assert _get(sides, target) == (400, None, None)


@pytest.mark.integration
@pytest.mark.parametrize("target", ["/API/products", "/Api/Products", "/api/productsx", "/apiproducts"])
def test_other_paths_stay_on_the_legacy_unchanged(sides: Sides, target: str) -> None:
    assert _get(sides, target) == (200, target, None)


@pytest.mark.unit
@given(st.text(alphabet="/.%2eEfF5cC\\ab", max_size=30))
def test_a_normalised_path_has_no_ambiguity_left(raw: str) -> None:
    try:
        path, forwarded = normalise_path(("/" + raw).encode())
    except PathRefused:
        return
    assert "//" not in path and "\\" not in path
    assert not {".", ".."} & set(path.split("/"))
    assert normalise_path(forwarded) == (path, forwarded)
