"""In front of the HAProxy engine, a change that would need what only the data plane does is refused at
publish time, naming the feature; rollbacks and panics never are."""

from __future__ import annotations

import pytest

from strangler_proxy.controlplane.errors import Refused
from strangler_proxy.controlplane.service_layer import ControlPlaneServices, build_services
from strangler_proxy.controlplane.service_layer.publishing import Actor
from strangler_proxy.controlplane.settings import ControlPlaneSettings
from strangler_proxy.routes import ActionMode, Rule, RuleMatch
from strangler_proxy.store.engine import make_engine
from tests.unit.controlplane.conftest import CHEAP_ARGON2

pytestmark = pytest.mark.unit

ME = Actor("alice", "127.0.0.1")


def _services(settings: ControlPlaneSettings, engine: str) -> ControlPlaneServices:
    settings = settings.model_copy(update={"engine": engine})
    built = build_services(settings, make_engine(settings.resolved_store_url), password_hasher=CHEAP_ARGON2)
    built.bootstrap()
    built.upstreams.save({"name": "catalog", "url": "http://127.0.0.1:8201"})
    built.publishing.add_route(Rule(name="catalog", match=RuleMatch(path="/catalog")), actor=ME, reason="add")
    return built


@pytest.fixture
def on_haproxy(settings: ControlPlaneSettings):  # type: ignore[no-untyped-def]
    built = _services(settings, "haproxy")
    yield built
    built.engine.dispose()


def test_shadow_mode_is_refused_in_front_of_haproxy_naming_the_feature(on_haproxy) -> None:
    with pytest.raises(Refused) as caught:
        on_haproxy.publishing.flip(
            "catalog", mode=ActionMode.SHADOW, upstream="catalog", actor=ME, reason="mirror"
        )
    assert caught.value.status_code == 422
    [problem] = caught.value.problems
    assert "rule 'catalog'" in problem and "shadow mode" in problem and "haproxy" in problem
    _, problems = on_haproxy.publishing.preview(
        on_haproxy.publishing.flip_candidate("catalog", mode=ActionMode.SHADOW, upstream="catalog")
    )
    assert problems == [problem]
    assert on_haproxy.publishing.active()[0].version_id == 2


def test_canary_and_new_are_served_by_haproxy(on_haproxy) -> None:
    on_haproxy.publishing.flip(
        "catalog", mode=ActionMode.CANARY, weight=10, upstream="catalog", actor=ME, reason="c"
    )
    result = on_haproxy.publishing.flip("catalog", mode=ActionMode.NEW, actor=ME, reason="all in")
    assert result.version == 4


def test_the_data_plane_takes_shadow_mode(settings: ControlPlaneSettings) -> None:
    built = _services(settings, "dataplane")
    try:
        result = built.publishing.flip(
            "catalog", mode=ActionMode.SHADOW, upstream="catalog", actor=ME, reason="m"
        )
        assert built.publishing.active()[0].version_id == result.version
    finally:
        built.engine.dispose()


def test_rollbacks_and_panics_are_never_refused_over_a_feature(settings: ControlPlaneSettings) -> None:
    # Shadow mode published while the data plane served...
    earlier = _services(settings, "dataplane")
    shadowed = earlier.publishing.flip(
        "catalog", mode=ActionMode.SHADOW, upstream="catalog", actor=ME, reason="mirror"
    ).version
    earlier.engine.dispose()
    # ...then the control plane moved in front of HAProxy, and the route went to the new side.
    later = build_services(
        settings.model_copy(update={"engine": "haproxy"}),
        make_engine(settings.resolved_store_url),
        password_hasher=CHEAP_ARGON2,
    )
    try:
        later.publishing.flip("catalog", mode=ActionMode.NEW, actor=ME, reason="all in")
        with pytest.raises(Refused):
            later.publishing.reactivate(shadowed, actor=ME, reason="back to mirroring")
        rolled_back = later.publishing.rollback(actor=ME, reason="incident", route="catalog", to="previous")
        assert later.publishing.active_table().rule("catalog").action.mode is ActionMode.SHADOW
        assert later.publishing.active()[0].version_id == rolled_back.version
        panicked = later.publishing.panic(actor=ME, reason="incident")
        assert later.publishing.active()[0].version_id == panicked.version
    finally:
        later.engine.dispose()
