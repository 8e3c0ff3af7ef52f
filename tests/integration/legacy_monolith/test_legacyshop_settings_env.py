"""Settings read from the environment, checked in a fresh interpreter per case (settings load once)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.integration

PRINT_SETTINGS = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "debug": settings.DEBUG, "hosts": settings.ALLOWED_HOSTS, "engine": db["ENGINE"], "name": str(db["NAME"]),
    "options": db.get("OPTIONS", {}), "use_tz": settings.USE_TZ, "tz": settings.TIME_ZONE,
    "key": settings.SECRET_KEY, "csrf_origins": settings.CSRF_TRUSTED_ORIGINS,
}))
"""


def _settings_in_subprocess(env: dict[str, str]) -> dict:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("LEGACYSHOP_", "DATABASE_URL", "DJANGO_"))
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="legacy_monolith.legacyshop.settings")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + PRINT_SETTINGS],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_defaults_sqlite_in_the_data_dir_debug_off_loopback_hosts(tmp_path):
    values = _settings_in_subprocess({"LEGACYSHOP_DATA_DIR": str(tmp_path)})
    assert values["debug"] is False
    assert values["hosts"] == ["127.0.0.1", "localhost", "[::1]"]
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(tmp_path / "legacy.sqlite3")
    assert values["options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in values["options"]["init_command"]
    assert values["options"]["timeout"] >= 5
    assert (values["use_tz"], values["tz"]) == (False, "Europe/Berlin")
    assert values["key"] == (tmp_path / "secret_key").read_text()
    assert values["csrf_origins"] == []


def test_environment_overrides(tmp_path):
    values = _settings_in_subprocess(
        {
            "LEGACYSHOP_DATA_DIR": str(tmp_path),
            "LEGACYSHOP_DEBUG": "1",
            "LEGACYSHOP_ALLOWED_HOSTS": "shop.example.com, proxy.internal",
            "LEGACYSHOP_SECRET_KEY": "from-the-environment",
            "DATABASE_URL": "postgresql://shop@db.internal:5433/legacy",
            "LEGACYSHOP_CSRF_TRUSTED_ORIGINS": "https://shop.example.com, ",
        }
    )
    assert values["debug"] is True
    assert values["hosts"][-2:] == ["shop.example.com", "proxy.internal"]
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["name"] == "legacy"
    assert values["key"] == "from-the-environment"
    assert values["csrf_origins"] == ["https://shop.example.com"]
    assert not (tmp_path / "secret_key").exists()


def test_the_sqlite_folder_exists_even_when_the_key_comes_from_the_environment(tmp_path):
    data_dir = tmp_path / "fresh" / "legacy"
    values = _settings_in_subprocess(
        {"LEGACYSHOP_DATA_DIR": str(data_dir), "LEGACYSHOP_SECRET_KEY": "k" * 50}
    )
    assert values["name"] == str(data_dir / "legacy.sqlite3")
    assert data_dir.is_dir()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert not (data_dir / "secret_key").exists()
