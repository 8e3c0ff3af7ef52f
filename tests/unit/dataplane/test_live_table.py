"""Reading the active version from the store and swapping the served table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from strangler_proxy.dataplane.live import LiveTable, ServedTable, TablePoller, bootstrap_table
from strangler_proxy.dataplane.routing import compile_table
from strangler_proxy.dataplane.store_client import NoSuchVersion, StoreClient
from strangler_proxy.routes import LEGACY, MatchKind, RouteTable, Rule, RuleMatch, Upstream
from strangler_proxy.store import make_engine, metadata
from strangler_proxy.store.schema import active_route_table, route_versions

pytestmark = pytest.mark.unit

LEGACY_URL = "http://127.0.0.1:8100"


class FakeStore:
    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path}"
        self.engine = make_engine(self.url)
        metadata.create_all(self.engine)
        self.generation = 0

    def publish(self, table: RouteTable) -> int:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            version = conn.execute(
                insert(route_versions).values(
                    document=table.to_json(), author="t", reason="t", created_at=now
                )
            ).inserted_primary_key[0]
            self.generation += 1
            if self.generation == 1:
                conn.execute(
                    insert(active_route_table).values(id=1, version_id=version, generation=1, changed_at=now)
                )
            else:
                conn.execute(
                    update(active_route_table).values(version_id=version, generation=self.generation)
                )
        return int(version)


def _table(*rules: Rule) -> RouteTable:
    return RouteTable(upstreams={LEGACY: Upstream(name=LEGACY, url=LEGACY_URL)}, rules=rules)


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = FakeStore(tmp_path / "store.sqlite3")
    yield store
    store.engine.dispose()


def _poller(store: FakeStore, applied: list) -> tuple[TablePoller, LiveTable]:  # type: ignore[type-arg]
    live = LiveTable(ServedTable.build(compile_table(bootstrap_table(LEGACY_URL)), None))
    poller = TablePoller(
        StoreClient(store.url), live, compile_table, interval_s=0.05, on_applied=applied.append
    )
    return poller, live


def test_reader_sees_nothing_before_the_first_publish_then_the_active_version(store: FakeStore) -> None:
    reader = StoreClient(store.url)
    assert reader.pointer() is None and reader.poll(None) is None
    version = store.publish(_table(Rule(name="a", match=RuleMatch(path="/a"))))
    found = reader.poll(None)
    assert found is not None and found.table.version == version and found.pointer.generation == 1
    assert found.table.rule("a") is not None
    assert reader.poll(1) is None  # same generation: nothing loaded
    with pytest.raises(NoSuchVersion):
        reader.load(999)


def test_poller_swaps_the_whole_table_and_reports_it(store: FakeStore) -> None:
    applied: list[ServedTable] = []
    poller, live = _poller(store, applied)
    bootstrap = live.current
    assert bootstrap.version == 0 and bootstrap.upstream_url(LEGACY) == LEGACY_URL
    assert not poller.poll_once()
    version = store.publish(_table(Rule(name="a", match=RuleMatch(path="/a"))))
    assert poller.poll_once()
    assert live.current is not bootstrap and live.current.version == version
    assert bootstrap.version == 0  # the old object is untouched: requests holding it keep their version
    assert [s.version for s in applied] == [version]
    assert not poller.poll_once()


def test_a_table_that_does_not_compile_is_refused_once(
    store: FakeStore, caplog: pytest.LogCaptureFixture
) -> None:
    applied: list[ServedTable] = []
    poller, live = _poller(store, applied)
    good = store.publish(_table())
    poller.poll_once()
    store.publish(_table(Rule(name="bad", match=RuleMatch(kind=MatchKind.PATTERN, path="/x("))))
    assert not poller.poll_once()
    assert not poller.poll_once()
    assert live.current.version == good
    assert sum("refused" in r.message for r in caplog.records) == 1


def test_store_failures_keep_serving_and_mark_the_poller_unhealthy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    engine = make_engine(url)  # no tables
    live = LiveTable(ServedTable.build(compile_table(bootstrap_table(LEGACY_URL)), None))
    poller = TablePoller(StoreClient(url), live, compile_table, interval_s=0.05)
    assert not poller.poll_once()
    assert not poller.healthy and "active_route_table" in (poller.last_error or "")
    assert live.current.version == 0
    metadata.create_all(engine)
    poller.poll_once()
    assert poller.healthy
    engine.dispose()
