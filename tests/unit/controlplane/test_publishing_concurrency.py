"""Compare-and-swap under real concurrency, on SQLite and PostgreSQL: of several publishes expecting the
same version exactly one wins, the others get 409 and leave no version behind. On PostgreSQL every
swap also notifies the data plane's channel with the new generation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select

from strangler_proxy.controlplane.errors import StaleVersion
from strangler_proxy.controlplane.service_layer import ControlPlaneServices, build_services
from strangler_proxy.controlplane.service_layer.publishing import NOTIFY_CHANNEL, Actor
from strangler_proxy.controlplane.settings import ControlPlaneSettings
from strangler_proxy.routes import Rule, RuleMatch
from strangler_proxy.store.engine import make_engine
from strangler_proxy.store.schema import route_versions
from tests.unit.controlplane.conftest import CHEAP_ARGON2

pytestmark = pytest.mark.unit

RACERS = 6


def _services(home: Path, url: str | None) -> ControlPlaneServices:
    settings = ControlPlaneSettings(home=home, store_url=url, guards_enabled=False)
    built = build_services(settings, make_engine(settings.resolved_store_url), password_hasher=CHEAP_ARGON2)
    built.bootstrap()
    return built


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ControlPlaneServices]:
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url").replace("postgresql://", "postgresql+psycopg://")
    built = _services(tmp_path / "home", url)
    yield built
    built.engine.dispose()


def test_only_one_of_concurrent_publishes_wins(store: ControlPlaneServices) -> None:
    barrier = threading.Barrier(RACERS)
    outcomes: list[object] = []
    lock = threading.Lock()
    table = store.publishing.active_table()

    def publish(index: int) -> None:
        candidate = table.model_copy(
            update={"rules": (Rule(name=f"r{index}", match=RuleMatch(path=f"/r{index}")),)}
        )
        barrier.wait()
        try:
            result: object = store.publishing.publish(
                candidate, actor=Actor(f"user{index}"), reason="race", expected_version=1
            )
        except StaleVersion as exc:
            result = exc
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [o for o in outcomes if not isinstance(o, StaleVersion)]
    assert len(outcomes) == RACERS and len(winners) == 1
    pointer, record = store.publishing.active()
    assert pointer.version_id == winners[0].version and pointer.generation == 2  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(route_versions)).scalar_one() == 2
    assert len(record.table.rules) == 1


@pytest.mark.postgres
def test_postgres_swap_notifies_the_new_generation(tmp_path: Path, postgres_url: str) -> None:
    services = _services(tmp_path / "home", postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with psycopg.connect(postgres_url, autocommit=True) as listener:
            listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            result = services.publishing.panic(actor=Actor("alice"), reason="notify")
            notices = list(listener.notifies(timeout=5, stop_after=1))
        assert [(n.channel, n.payload) for n in notices] == [(NOTIFY_CHANNEL, str(result.generation))]
    finally:
        services.engine.dispose()
