"""Legacy local time <-> aware UTC.

The monolith keeps naive wall-clock times in Europe/Berlin (Django ``USE_TZ = False``). Two rules make
the mapping total and explicit:

* **Ambiguous** local times (the hour repeated when summer time ends, e.g. 2023-10-29 02:30) map to
  their *first* occurrence, still in summer time (``fold=0``, +02:00) — the instant Django's
  ``make_aware`` picks with zoneinfo, so both sides render the same offset.
* **Nonexistent** local times (the hour skipped when summer time starts, e.g. 2023-03-26 02:30) are
  read with the offset in force *before* the gap (``fold=0``, +01:00): 02:30 becomes 01:30 UTC, which
  the monolith itself renders as 03:30+02:00. Both sides thus show the same instant for such a value;
  it is the one local time that does not come back unchanged from a round trip.

Back to legacy, an aware instant becomes its naive Berlin wall time. That is lossy exactly once a year:
the two instants of the repeated hour give the same wall time, and the second one reads back as the first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from acl.errors import LegacyDataError, LegacyTimeError

__all__ = [
    "LEGACY_TIMEZONE",
    "from_legacy_local",
    "is_ambiguous",
    "is_nonexistent",
    "parse_legacy_local",
    "to_legacy_local",
]

LEGACY_TIMEZONE = ZoneInfo("Europe/Berlin")


def is_nonexistent(local: datetime, tz: ZoneInfo = LEGACY_TIMEZONE) -> bool:
    """True when the naive wall time ``local`` falls into a spring-forward gap of ``tz``."""
    aware = local.replace(tzinfo=tz, fold=0)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local


def is_ambiguous(local: datetime, tz: ZoneInfo = LEGACY_TIMEZONE) -> bool:
    """True when the naive wall time ``local`` happens twice in ``tz`` (fall-back overlap)."""
    first = local.replace(tzinfo=tz, fold=0).utcoffset()
    second = local.replace(tzinfo=tz, fold=1).utcoffset()
    return first != second and not is_nonexistent(local, tz)


def from_legacy_local(
    local: datetime, *, field: str = "datetime", tz: ZoneInfo = LEGACY_TIMEZONE
) -> datetime:
    """A naive legacy wall time -> the aware UTC instant (ambiguous and gap times: ``fold=0``)."""
    if local.tzinfo is not None:
        raise LegacyTimeError(field, local, "expected a naive local time, got an aware one")
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def parse_legacy_local(value: object, field: str) -> datetime:
    """A legacy column or payload value (a naive ``datetime`` or its ISO text) -> the aware UTC instant;
    ``LegacyDataError`` naming ``field`` for anything else."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise LegacyDataError(field, value, "expected a local date and time") from None
    if not isinstance(value, datetime):
        raise LegacyDataError(field, value, "expected a local date and time")
    return from_legacy_local(value, field=field)


def to_legacy_local(moment: datetime, *, tz: ZoneInfo = LEGACY_TIMEZONE) -> datetime:
    """An aware instant -> the naive legacy wall time."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got {moment!r}")
    return moment.astimezone(tz).replace(tzinfo=None, fold=0)
