"""Errors of the anti-corruption layer.

Everything the ACL raises derives from ``ACLError``, so a caller can catch the layer as a whole,
or one branch of it::

    ACLError
    ├── LegacyDataError             legacy data that does not translate (never coerced silently)
    │   └── LegacyTimeError         a legacy time that is not a naive local time
    └── LegacyServiceError          calling the monolith over HTTP failed
        ├── LegacyUnavailable       no answer came back
        │   ├── LegacyTimeout       connect, read, write or pool timeout
        │   ├── LegacyConnectionError  refused, reset, DNS, protocol error
        │   └── CircuitOpen         the circuit breaker refused the call without trying
        └── LegacyResponseError     an answer came, but not a usable one (``status_code``)
            ├── LegacyNotFound      404
            ├── LegacyRejected      any other 4xx
            └── LegacyServerError   5xx

``LegacyUnavailable`` and ``LegacyServerError`` are what a retry or a fallback may help with; the
others are answers that will not change by asking again.
"""

from __future__ import annotations

__all__ = [
    "ACLError",
    "CircuitOpen",
    "LegacyConnectionError",
    "LegacyDataError",
    "LegacyNotFound",
    "LegacyRejected",
    "LegacyResponseError",
    "LegacyServerError",
    "LegacyServiceError",
    "LegacyTimeError",
    "LegacyTimeout",
    "LegacyUnavailable",
]


class ACLError(Exception):
    """Base class of every error the anti-corruption layer raises."""


class LegacyDataError(ACLError, ValueError):
    """A legacy value cannot be translated; ``field`` names the legacy column or JSON key."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"legacy field {field!r} = {value!r}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


class LegacyTimeError(LegacyDataError):
    """A legacy time that is not a naive wall-clock time (e.g. it carries an offset)."""


class LegacyServiceError(ACLError):
    """A call to the monolith failed; ``method`` and ``url`` say which."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class LegacyUnavailable(LegacyServiceError):
    """No answer came back from the monolith."""


class LegacyTimeout(LegacyUnavailable):
    pass


class LegacyConnectionError(LegacyUnavailable):
    pass


class CircuitOpen(LegacyUnavailable):
    """The circuit breaker is open: calls fail fast until ``retry_after`` seconds have passed."""

    def __init__(self, message: str, *, retry_after: float, method: str = "", url: str = "") -> None:
        super().__init__(message, method=method, url=url)
        self.retry_after = retry_after


class LegacyResponseError(LegacyServiceError):
    """The monolith answered with a status the call cannot use."""

    def __init__(
        self, message: str, *, status_code: int, body: str = "", method: str = "", url: str = ""
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.body = body


class LegacyNotFound(LegacyResponseError):
    pass


class LegacyRejected(LegacyResponseError):
    pass


class LegacyServerError(LegacyResponseError):
    pass
