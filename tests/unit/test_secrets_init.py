"""The compose stack's one-shot secrets service: generates what is missing, keeps what exists."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from strangler_proxy.secrets_init import generate_secret_files, main


def test_missing_secrets_are_generated_once_and_existing_ones_kept(tmp_path: Path) -> None:
    (tmp_path / "admin_password").write_text("chosen-by-the-operator\n")
    assert generate_secret_files(tmp_path, ["identity_key", "admin_password"]) == ["identity_key"]
    first = (tmp_path / "identity_key").read_text()
    assert stat.S_IMODE((tmp_path / "identity_key").stat().st_mode) == 0o600
    assert main([str(tmp_path), "identity_key", "admin_password"]) == 0
    assert (tmp_path / "identity_key").read_text() == first
    assert (tmp_path / "admin_password").read_text() == "chosen-by-the-operator\n"


def test_a_name_that_is_a_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="plain file name"):
        generate_secret_files(tmp_path, ["../escape"])


def test_a_pgpass_file_gives_the_user_the_generated_database_password(tmp_path: Path) -> None:
    assert main([str(tmp_path), "postgres_password", "--pgpass", "pgpass:strangler:postgres_password"]) == 0
    password = (tmp_path / "postgres_password").read_text().strip()
    assert (tmp_path / "pgpass").read_text() == f"*:*:*:strangler:{password}\n"
    assert stat.S_IMODE((tmp_path / "pgpass").stat().st_mode) == 0o600
    assert main([str(tmp_path), "x", "--pgpass", "no-colons"]) == 2
