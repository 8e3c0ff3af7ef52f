"""Legacy local time <-> UTC: the DST rules of acl.timezones, checked exhaustively and with hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acl.errors import LegacyTimeError
from acl.timezones import LEGACY_TIMEZONE, from_legacy_local, is_ambiguous, is_nonexistent, to_legacy_local

pytestmark = pytest.mark.unit

naive_times = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 12, 31))
utc_instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2060, 12, 31), timezones=st.just(UTC)
)


def test_winter_and_summer_offsets() -> None:
    assert from_legacy_local(datetime(2016, 3, 1, 10, 0)) == datetime(2016, 3, 1, 9, 0, tzinfo=UTC)
    assert from_legacy_local(datetime(2016, 7, 1, 10, 0)) == datetime(2016, 7, 1, 8, 0, tzinfo=UTC)


def test_ambiguous_time_is_its_first_occurrence_in_summer_time() -> None:
    local = datetime(2023, 10, 29, 2, 30)
    assert is_ambiguous(local) and not is_nonexistent(local)
    assert from_legacy_local(local) == datetime(2023, 10, 29, 0, 30, tzinfo=UTC)
    assert from_legacy_local(local).astimezone(LEGACY_TIMEZONE).isoformat() == "2023-10-29T02:30:00+02:00"


def test_nonexistent_time_takes_the_offset_before_the_gap() -> None:
    local = datetime(2023, 3, 26, 2, 30)
    assert is_nonexistent(local) and not is_ambiguous(local)
    moment = from_legacy_local(local)
    assert moment == datetime(2023, 3, 26, 1, 30, tzinfo=UTC)
    # the same instant the monolith renders for that row
    assert moment.astimezone(LEGACY_TIMEZONE).isoformat() == "2023-03-26T03:30:00+02:00"


def test_aware_values_are_refused() -> None:
    with pytest.raises(LegacyTimeError) as caught:
        from_legacy_local(datetime(2020, 1, 1, tzinfo=UTC), field="crt_dt")
    assert caught.value.field == "crt_dt"


def test_to_legacy_local_requires_an_aware_instant() -> None:
    with pytest.raises(ValueError, match="aware"):
        to_legacy_local(datetime(2020, 1, 1))


@settings(deadline=None)  # wall-clock limits flake on a loaded machine
@given(naive_times)
def test_existing_local_times_round_trip(local: datetime) -> None:
    if is_nonexistent(local):
        assert to_legacy_local(from_legacy_local(local)) == local + timedelta(hours=1)
    else:
        assert to_legacy_local(from_legacy_local(local)) == local


@settings(deadline=None)  # wall-clock limits flake on a loaded machine
@given(utc_instants)
def test_instants_round_trip_except_the_second_pass_of_the_repeated_hour(moment: datetime) -> None:
    back = from_legacy_local(to_legacy_local(moment))
    local = moment.astimezone(LEGACY_TIMEZONE)
    if local.fold == 1 and is_ambiguous(local.replace(tzinfo=None)):
        assert back == moment - timedelta(hours=1)
    else:
        assert back == moment


def test_every_dst_transition_of_a_year_is_classified() -> None:
    hours = [datetime(2024, 1, 1) + timedelta(minutes=30 * step) for step in range(2 * 24 * 366)]
    assert sum(is_nonexistent(hour) for hour in hours) == 2  # 02:00 and 02:30 on 31 March
    assert sum(is_ambiguous(hour) for hour in hours) == 2  # 02:00 and 02:30 on 27 October
