"""The generic parts (strangler_proxy/, migration_plan/, the generic acl/) name none of LegacyShop's apps,
tables, columns, URL paths or environment variables: a project strangling another monolith must not
find the demo's assumptions in them.

What still names the demo is listed in ``KNOWN``, file by file with the reason; the list must stay
exact: a file that stops naming the demo must leave it (the test says so), and no other file may start.
acl/catalog/ and acl/orders/ are the demo's own translators and sync pipelines and are not scanned.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

DEMO = re.compile(
    r"legacy_monolith|legacyshop"  # the monolith's package and name, its LEGACYSHOP_* variables
    r"|\btbl_\w+"  # its tables
    r"|\b(?:prd|ord|cust|ctg)_\w+|\bstk_qty\b"  # its columns
    r"|/api/products|/api/orders|/cart\b",  # its URL paths
    re.IGNORECASE,
)

GENERIC = [
    *sorted((ROOT / "strangler_proxy").rglob("*.py")),
    *sorted((ROOT / "migration_plan").rglob("*.py")),
    *sorted((ROOT / "acl").glob("*.py")),  # HTTP plumbing, identity, circuit breaker, errors, time zones
    *sorted((ROOT / "acl" / "sync").rglob("*.py")),
]

KNOWN: dict[str, str] = {}


def _naming_the_demo() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in GENERIC:
        hits = sorted({match.group(0) for match in DEMO.finditer(path.read_text(encoding="utf-8"))})
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    return found


def test_no_generic_file_names_legacyshop_beyond_the_known_list() -> None:
    found = _naming_the_demo()
    new = {name: hits for name, hits in found.items() if name not in KNOWN}
    assert not new, f"generic code names LegacyShop (move it to strangler.toml or the demo): {new}"


def test_the_known_list_is_exact() -> None:
    found = _naming_the_demo()
    cleaned = sorted(name for name in KNOWN if name not in found)
    assert not cleaned, f"these no longer name LegacyShop: remove them from KNOWN: {cleaned}"


def test_the_django_app_names_no_demo_either() -> None:
    hits = {
        str(path.relative_to(ROOT)): sorted(
            {m.group(0) for m in DEMO.finditer(path.read_text(encoding="utf-8"))}
        )
        for path in sorted((ROOT / "strangler_django").rglob("*.py"))
    }
    assert not {name: found for name, found in hits.items() if found}


DEMO_SYNC = re.compile(
    r"new_services\.|acl\.catalog|acl\.orders"  # the demo's services and pipelines, as module paths
    r"|\b(?:STRANGLER_SYNC_)?(?:CATALOG|ORDERS)_\w+"  # their settings (CATALOG_DATABASE_URL, ..._ORDERS_PORT)
    r"|services/(?:catalog|orders)|(?:catalog|orders)\.sqlite3"  # their databases
    r"|\b(?:catalog|orders)_(?:port_factory|origin|database_url)\b"  # the settings' old field names
    r"|[\"'](?:catalog|orders)[\"']",  # a service's name as a default or a constant
)


def test_the_sync_engine_names_no_demo_service_pipeline_setting_or_database() -> None:
    """acl/sync/ is the generic engine: the demo's pipelines (acl/catalog/sync/, acl/orders/sync/) carry
    their own settings and defaults, and the project file names them (``[sync] pipelines``)."""
    hits = {
        str(path.relative_to(ROOT)): sorted({m.group(0) for m in DEMO_SYNC.finditer(path.read_text("utf-8"))})
        for path in sorted((ROOT / "acl" / "sync").rglob("*.py"))
    }
    assert not {name: found for name, found in hits.items() if found}
