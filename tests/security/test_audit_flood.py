"""Finding 4: nobody writes to the audit log without logging in. Refused requests are counted per
caller, target, reason and minute (the route template, never the raw path), failed logins name no actor
of the caller's choosing, old counts are pruned, and the audit pages page through everything."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from strangler_proxy.store.schema import audit_log
from tests.unit.controlplane.conftest import Api

pytestmark = pytest.mark.unit


def _rows(api: Api, table) -> int:  # type: ignore[no-untyped-def]
    with api.services.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _stored_chars(api: Api) -> int:
    from strangler_proxy.store.schema import audit_denials

    with api.services.engine.connect() as conn:
        rows = conn.execute(select(audit_denials.c.target, audit_denials.c.reason)).all()
    return sum(len(target) + len(reason) for target, reason in rows)


def test_anonymous_requests_with_huge_paths_add_one_short_counted_row(api: Api) -> None:
    """200 unauthenticated requests with 30 KB paths: one row, its target the route's template, and
    the audit log itself untouched (real entries stay on its first page)."""
    from strangler_proxy.controlplane.service_layer.denials import DenialFilter

    log_rows = _rows(api, audit_log)
    api.client.cookies.clear()
    for n in range(200):
        path = f"/api/v1/versions/{n}{'x' * 30_000}"
        assert api.client.get(path).status_code == 401
    assert _rows(api, audit_log) == log_rows
    denials = api.services.denials.search(DenialFilter(actor="anonymous"))
    assert {d.target for d in denials} == {"GET /api/v1/versions/{version}"}
    assert sum(d.count for d in denials) == 200
    assert _stored_chars(api) < 200
    page = api.client.get("/audit", headers=api.headers("viewer"))
    assert 'data-action="bootstrap"' in page.text


def test_failed_logins_record_no_actor_the_caller_chose(api: Api) -> None:
    for name in ("admin", "<img src=x onerror=alert(1)>", "x" * 150):
        response = api.client.post("/api/v1/session", json={"username": name, "password": "wrong guess!"})
        assert response.status_code == 401
    with api.services.engine.connect() as conn:
        actors = set(conn.execute(select(audit_log.c.actor)).scalars())
    assert not any("<img" in actor or "xxx" in actor for actor in actors)
    from strangler_proxy.controlplane.service_layer.denials import DenialFilter

    denials = api.services.denials.search(DenialFilter(action="login"))
    assert {d.actor for d in denials} == {"anonymous"}
    assert {d.target for d in denials} == {"user admin", "-"}


def test_counts_older_than_the_retention_are_pruned(api: Api) -> None:
    from strangler_proxy.controlplane.service_layer.denials import DenialFilter, DenialService

    now = [datetime.now(UTC)]
    denials = DenialService(api.services.engine, retention_s=3600, clock=lambda: now[0])
    denials.record(actor="anonymous", action="auth", address="10.0.0.1", target="GET /x", reason="r")
    now[0] += timedelta(minutes=30)
    denials.record(actor="anonymous", action="auth", address="10.0.0.1", target="GET /x", reason="r")
    assert denials.prune() == 0
    now[0] += timedelta(minutes=45)
    assert denials.prune() == 1
    assert [d.count for d in denials.search(DenialFilter())] == [1]
    assert api.services.denials.retention_s == api.services.settings.audit_denial_retention_s


def test_the_refused_requests_page_pages_through_everything(api: Api) -> None:
    for n in range(230):
        api.services.denials.record(
            actor=f"user{n}", action="auth", address="10.0.0.2", target="GET /api/v1/users", reason="r"
        )
    seen: list[str] = []
    url: str | None = "/audit/denials"
    while url:
        page = api.client.get(url, headers=api.headers("viewer"))
        assert page.status_code == 200
        seen += re.findall(r'data-denial="(\d+)"', page.text)
        older = re.search(r'<a href="([^"]+)">Older entries', page.text)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert len(seen) == len(set(seen)) == 230
    api_rows = api.get("/audit/denials?limit=1000").json()["denials"]
    assert len(api_rows) == 230 and api_rows[0]["actor"] == "user229"
