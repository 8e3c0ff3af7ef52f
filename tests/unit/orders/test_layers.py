"""The orders service is layered: entrypoints > bootstrap > adapters > service layer > domain.

(The same rules belong in .importlinter next to the catalog's; until then this test keeps them.)
"""

from __future__ import annotations

import grimp
import pytest

pytestmark = pytest.mark.unit

LAYERS = ["entrypoints", "bootstrap", "adapters", "service_layer", "domain"]
DOMAIN_FORBIDDEN = [
    "flask",
    "sqlalchemy",
    "alembic",
    "acl",
    "httpx2",
    "pydantic",
    "pydantic_settings",
    "structlog",
]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(
        "new_services", "acl", "strangler_proxy", "legacy_monolith", include_external_packages=True
    )


def test_lower_layers_never_import_higher_ones(graph):
    for lower_index, lower in enumerate(LAYERS):
        for higher in LAYERS[:lower_index]:
            chain = graph.find_shortest_chain(
                importer=f"new_services.orders.{lower}",
                imported=f"new_services.orders.{higher}",
                as_packages=True,
            )
            assert chain is None, f"{lower} imports {higher}: {' -> '.join(chain)}"


def test_domain_knows_no_framework_database_or_legacy_vocabulary(graph):
    for package in DOMAIN_FORBIDDEN:
        chain = graph.find_shortest_chain(
            importer="new_services.orders.domain", imported=package, as_packages=True
        )
        assert chain is None, f"the domain reaches {package}: {' -> '.join(chain)}"


def test_orders_never_imports_another_service_or_the_monolith(graph):
    for package in ["new_services.catalog", "legacy_monolith", "django"]:
        chain = graph.find_shortest_chain(importer="new_services.orders", imported=package, as_packages=True)
        assert chain is None, f"orders reaches {package}: {' -> '.join(chain)}"


def test_the_graph_sees_the_allowed_direction(graph):
    """Guards the tests above against passing on an empty graph."""
    assert graph.find_shortest_chain(
        importer="new_services.orders.entrypoints", imported="new_services.orders.domain", as_packages=True
    )
    assert graph.find_shortest_chain(
        importer="new_services.orders.adapters", imported="acl", as_packages=True
    )
