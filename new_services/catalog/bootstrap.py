"""The composition root: settings in, wired dependencies out. Nothing connects before it is called."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from acl.identity_verifier import IdentityVerifier, load_identity_key
from new_services.catalog.adapters.legacy_session import LegacyCartCount
from new_services.catalog.adapters.migrate import MIGRATIONS
from new_services.catalog.adapters.orm import start_mappers
from new_services.catalog.adapters.unit_of_work import SqlAlchemyUnitOfWork
from new_services.catalog.service_layer.unit_of_work import AbstractUnitOfWork
from new_services.catalog.settings import CatalogSettings
from new_services.kit.engine import make_engine
from new_services.kit.flash import TakeMessages

__all__ = ["Catalog", "bootstrap"]

ReadinessCheck = Callable[[], dict[str, str]]


@dataclass(frozen=True)
class Catalog:
    """What the entrypoints need: a unit-of-work factory, a readiness check and the identity verifier.

    Without a verifier nobody can be identified, so every write is refused with 401.
    """

    settings: CatalogSettings
    uow_factory: Callable[[], AbstractUnitOfWork]
    readiness: ReadinessCheck
    engine: Engine | None = None
    identity: IdentityVerifier | None = None
    cart_count: Callable[[str], int] | None = None
    """The units in a monolith session's cart (None: pages show 0)."""
    flash_messages: TakeMessages | None = None
    """The monolith's pending flash messages for the pages (None: pages show none)."""
    closers: tuple[Callable[[], None], ...] = ()

    def dispose(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        for close in self.closers:
            close()


def bootstrap(settings: CatalogSettings) -> Catalog:
    """Wire the catalog on its own database (``settings.database_url``); maps Product first."""
    start_mappers()
    engine = make_engine(settings.database_url)
    carts = LegacyCartCount(settings.legacy_url, settings.internal_token)
    return Catalog(
        settings=settings,
        uow_factory=lambda: SqlAlchemyUnitOfWork(engine),
        readiness=lambda: MIGRATIONS.readiness(engine),
        engine=engine,
        identity=IdentityVerifier(load_identity_key(settings.strangler_home)),
        cart_count=carts.count,
        flash_messages=carts.take_messages,
        closers=(carts.close,),
    )
