"""A signing key with the one it replaces: key rotation with an overlap window.

A key ring signs with its ``current`` key and verifies with ``current`` and, until
``previous_until`` (Unix seconds), the ``previous`` key as well. Rotating a fleet's key without
refusing anyone: give every *verifier* the ring (new key current, old key previous, a window end),
then move every *signer* to the new key before the window ends. Tokens signed with the old key keep
verifying until then; afterwards only the new key does.

Stdlib only: this module is part of the shared core.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KeyRing"]


@dataclass(frozen=True, slots=True)
class KeyRing:
    """``current`` signs; ``current`` and ``previous`` (while ``now < previous_until``) verify."""

    current: bytes
    previous: bytes | None = None
    previous_until: float | None = None

    def __post_init__(self) -> None:
        if not self.current:
            raise ValueError("a key ring needs a current key")
        if self.previous is not None and self.previous_until is None:
            raise ValueError("a previous key needs the end of its overlap window")

    @classmethod
    def of(cls, key: str | bytes | KeyRing) -> KeyRing:
        """``key`` as a ring (a lone key verifies alone)."""
        if isinstance(key, KeyRing):
            return key
        return cls(key.encode("utf-8") if isinstance(key, str) else key)

    def verifying(self, now: float) -> tuple[bytes, ...]:
        """The keys a signature may be made with at ``now``, current first."""
        if self.previous is None or self.previous_until is None or now >= self.previous_until:
            return (self.current,)
        return (self.current, self.previous)
