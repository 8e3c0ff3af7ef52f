"""The soak takes its route and traffic from strangler.toml's [drills], as the drills do: reads, and the
write probe of [drills.write] in place of a share of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_plan.toolbox.soak.traffic import (
    SoakTrafficError,
    SoakWrite,
    soak_paths,
    soak_profile,
    soak_request,
    soak_writes,
)
from tests.support.processes import ROOT

pytestmark = pytest.mark.unit

PROJECT = """\
[legacy]
command = "{python} manage.py runserver {port}"
port = 8100

[[services]]
name = "things"
command = "{python} -m things"
port = 8201

[drills]
route = "drill-things"
upstream = "things"
reads = [{ path = "/api/things/{id}", weight = 2 }, "/api/things"]
legacy_reads = ["/about/"]
first_id = 1
last_id = 3

[drills.write]
path = "/api/counters/{id}"
body = { delta = 1 }
read = "/api/counters/{id}"
field = "value"
ids = [7, 8]
user = "staff"
password_env = "SOAK_TEST_PASSWORD"
"""


def _project(tmp_path: Path, text: str = PROJECT) -> Path:
    path = tmp_path / "strangler.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_route_and_upstream_are_the_drills(tmp_path: Path) -> None:
    profile = soak_profile(_project(tmp_path), {"SOAK_TEST_PASSWORD": "pw"})
    assert profile.route == "drill-things" and profile.upstream == "things"
    assert profile.match == {"kind": "prefix", "path": "/api/things/", "methods": ["GET", "HEAD"]}


def test_half_the_traffic_follows_the_route_and_half_stays_on_the_legacy(tmp_path: Path) -> None:
    paths = soak_paths(soak_profile(_project(tmp_path), {"SOAK_TEST_PASSWORD": "pw"}))
    assert paths[0::2] == ("/api/things/1", "/api/things/2", "/api/things")
    assert paths[1::2] == ("/about/",) * 3


def test_the_repository_soaks_the_demo_route_of_its_own_strangler_toml() -> None:
    profile = soak_profile(ROOT / "strangler.toml", {})
    paths = soak_paths(profile)
    assert profile.route == "drill-catalog" and profile.upstream == "catalog"
    assert paths[:4] == ("/api/products/1", "/products/1/", "/api/products/2", "/products/2/")
    assert len(paths) == 2 * 50


def test_the_writes_are_the_write_probe_through_its_ids(tmp_path: Path) -> None:
    writes = soak_writes(soak_profile(_project(tmp_path), {"SOAK_TEST_PASSWORD": "pw"}))
    assert writes == (
        SoakWrite("/api/counters/7", {"delta": 1}, ("staff", "pw")),
        SoakWrite("/api/counters/8", {"delta": 1}, ("staff", "pw")),
    )


def test_a_project_without_a_write_probe_gives_no_writes(tmp_path: Path) -> None:
    text = PROJECT.split("[drills.write]")[0]
    assert soak_writes(soak_profile(_project(tmp_path, text), {})) == ()


def test_every_nth_request_is_a_write_and_the_reads_keep_their_cycle() -> None:
    paths = ("/a", "/b", "/c")
    writes = (SoakWrite("/w/1"), SoakWrite("/w/2"))
    sent = [soak_request(slot, paths, writes, 3) for slot in range(12)]
    assert sent == [
        "/a",
        "/b",
        writes[0],
        "/c",
        "/a",
        writes[1],
        "/b",
        "/c",
        writes[0],
        "/a",
        "/b",
        writes[1],
    ]
    assert [soak_request(slot, paths, writes, 0) for slot in range(4)] == ["/a", "/b", "/c", "/a"]
    assert [soak_request(slot, paths, (), 3) for slot in range(4)] == ["/a", "/b", "/c", "/a"]


def test_the_repository_soaks_its_stock_writes() -> None:
    writes = soak_writes(soak_profile(ROOT / "strangler.toml", {}))
    assert [write.path for write in writes] == [f"/api/products/{key}/stock" for key in range(1, 6)]
    assert all(write.body == {"delta": 1} and write.auth is not None for write in writes)


def test_a_project_without_drills_says_what_to_add(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SoakTrafficError, match=r"\[drills\]"):
        soak_profile(_project(tmp_path, PROJECT.split("[drills]")[0]), {})
    (tmp_path / "strangler.toml").unlink()
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    monkeypatch.chdir(empty)
    if not any((folder / "strangler.toml").is_file() for folder in empty.parents):
        with pytest.raises(SoakTrafficError, match=r"no strangler\.toml"):
            soak_profile(None, {})
