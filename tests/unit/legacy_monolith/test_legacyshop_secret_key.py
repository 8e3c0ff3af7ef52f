"""The generated secret key: private, created once, shared by concurrent starters."""

from __future__ import annotations

import stat
import threading

import pytest

from legacy_monolith.legacyshop.secret_key import load_or_create_secret_key

pytestmark = pytest.mark.unit


def test_secret_key_is_created_private_and_reused(tmp_path):
    data_dir = tmp_path / "data"
    key = load_or_create_secret_key(data_dir)
    assert len(key) >= 50
    path = data_dir / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret_key(data_dir) == key
    assert [p.name for p in data_dir.iterdir()] == ["secret_key"]


def test_concurrent_starters_agree_on_one_key(tmp_path):
    keys: list[str] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        keys.append(load_or_create_secret_key(tmp_path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8
    assert len(set(keys)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]


def test_an_empty_key_file_is_an_error(tmp_path):
    (tmp_path / "secret_key").write_text("")
    with pytest.raises(RuntimeError, match="empty"):
        load_or_create_secret_key(tmp_path)
