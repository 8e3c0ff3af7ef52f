"""Secrets created at first start: whole or absent, the same for every process that starts together."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

import strangler_proxy.secrets as secrets_module
from strangler_proxy.secrets import load_or_create_secret


def test_a_secret_is_created_once_with_mode_0600_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "key"
    first = load_or_create_secret(path)
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first
    assert [p.name for p in path.parent.iterdir()] == ["key"]  # no temporary file left behind


def test_a_process_starting_while_another_writes_the_secret_gets_the_same_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second starter runs while the first is between creating its file and writing it: it must
    neither read an empty secret nor end up with a different one."""
    path = tmp_path / "key"
    real_token = secrets_module.secrets.token_urlsafe
    second: dict[str, object] = {}
    calls = 0

    def second_starter() -> None:
        try:
            second["value"] = load_or_create_secret(path)
        except Exception as exc:  # recorded, asserted below
            second["error"] = exc

    def token_while_another_starts(nbytes: int) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:  # the first starter, mid-creation: let the second one run to the end
            thread = threading.Thread(target=second_starter)
            thread.start()
            thread.join(timeout=10)
            assert not thread.is_alive()
        return real_token(nbytes)

    monkeypatch.setattr(secrets_module.secrets, "token_urlsafe", token_while_another_starts)
    first = load_or_create_secret(path)
    assert "error" not in second, second.get("error")
    assert second["value"] == first
    assert path.read_text().strip() == first


def test_an_empty_secret_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("")
    with pytest.raises(RuntimeError, match="delete it to have a new secret generated"):
        load_or_create_secret(path)
