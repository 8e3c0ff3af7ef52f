"""One monolith and one catalog service per xdist worker, shared by every contract test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.sides import Side, running_sides


@pytest.fixture(scope="session")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Side, Side]]:
    with running_sides(tmp_path_factory.mktemp("contract")) as pair:
        yield pair


@pytest.fixture(scope="session")
def monolith(sides: tuple[Side, Side]) -> Side:
    return sides[0]


@pytest.fixture(scope="session")
def catalog(sides: tuple[Side, Side]) -> Side:
    return sides[1]
