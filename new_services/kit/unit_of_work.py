"""The unit of work every service's service layer builds on: one atomic change (or one consistent read)
of its store, ``with uow: ...; uow.commit()``."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self

__all__ = ["UnitOfWork"]


class UnitOfWork(abc.ABC):
    """``with uow: ...; uow.commit()`` — leaving the block without commit rolls back."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...
