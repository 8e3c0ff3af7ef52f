"""The composition root: settings in, wired dependencies out. Nothing connects before it is called."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from acl.identity_verifier import IdentityVerifier, load_identity_key
from new_services.kit.engine import make_engine
from new_services.kit.flash import TakeMessages
from new_services.orders.adapters.legacy_session import LegacySessionCarts
from new_services.orders.adapters.legacy_stock import LegacyStock
from new_services.orders.adapters.migrate import MIGRATIONS
from new_services.orders.adapters.unit_of_work import SqlAlchemyUnitOfWork
from new_services.orders.service_layer import CheckoutSaga, SessionCartPort, StockPort
from new_services.orders.service_layer.unit_of_work import AbstractUnitOfWork
from new_services.orders.settings import OrdersSettings

__all__ = ["Orders", "bootstrap"]

ReadinessCheck = Callable[[], dict[str, str]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Orders:
    """What the entrypoints need; tests build one with fakes."""

    settings: OrdersSettings
    uow_factory: Callable[[], AbstractUnitOfWork]
    stock: StockPort
    identity: IdentityVerifier
    readiness: ReadinessCheck
    session_carts: SessionCartPort | None = None
    flash_messages: TakeMessages | None = None
    """The monolith's pending flash messages for the pages (None: pages show none)."""
    clock: Callable[[], datetime] = _utcnow
    closers: tuple[Callable[[], None], ...] = field(default=())

    def saga(self) -> CheckoutSaga:
        return CheckoutSaga(
            uow_factory=self.uow_factory,
            stock=self.stock,
            clock=self.clock,
            number_offset=self.settings.number_offset,
        )

    def dispose(self) -> None:
        for close in self.closers:
            close()


def bootstrap(settings: OrdersSettings) -> Orders:
    """Wire the service on its own database and the monolith's stock API (as the orders service, with
    its scoped token, unless a staff password is configured)."""
    engine = make_engine(settings.database_url)
    closers: list[Callable[[], None]] = [engine.dispose]
    # its own scoped token by default; a staff login only when a password is configured
    if settings.legacy_password is not None:
        legacy = LegacyStock.connect(
            settings.stock_url,
            username=settings.legacy_username,
            password=settings.legacy_password.get_secret_value(),
        )
    else:
        legacy = LegacyStock.connect(settings.stock_url, token=settings.service_token)
    closers.append(legacy.close)
    stock: StockPort = legacy
    session_carts = LegacySessionCarts(settings.legacy_url, settings.internal_token)
    closers.append(session_carts.close)
    return Orders(
        settings=settings,
        session_carts=session_carts,
        flash_messages=session_carts.take_messages,
        uow_factory=lambda: SqlAlchemyUnitOfWork(engine),
        stock=stock,
        identity=IdentityVerifier(load_identity_key(settings.strangler_home)),
        readiness=lambda: MIGRATIONS.readiness(engine),
        closers=tuple(closers),
    )
