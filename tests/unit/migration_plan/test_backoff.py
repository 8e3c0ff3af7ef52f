"""Exponential backoff between automatic restarts."""

import pytest

from migration_plan.toolbox.supervisor.backoff import Backoff, BackoffState

pytestmark = pytest.mark.unit


def test_delays_double_until_the_cap() -> None:
    policy = Backoff(initial=0.5, factor=2, cap=4, reset_after=30)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_huge_attempt_counts_stay_at_the_cap() -> None:
    assert Backoff(initial=1, factor=10, cap=60).delay(10_000) == 60


def test_consecutive_crashes_grow_the_delay() -> None:
    state = BackoffState(Backoff(initial=1, factor=3, cap=100, reset_after=10))
    assert [state.on_crash(stable_for=0.5) for _ in range(4)] == [1, 3, 9, 27]


def test_a_process_that_stayed_up_long_enough_starts_again_from_the_initial_delay() -> None:
    state = BackoffState(Backoff(initial=1, factor=2, cap=100, reset_after=10))
    state.on_crash(stable_for=0)
    state.on_crash(stable_for=0)
    assert state.on_crash(stable_for=9.9) == 4
    assert state.on_crash(stable_for=10) == 1
    assert state.on_crash(stable_for=0) == 2


def test_reset_forgets_past_crashes() -> None:
    state = BackoffState(Backoff(initial=2, factor=2, cap=100))
    state.on_crash(stable_for=0)
    state.on_crash(stable_for=0)
    state.reset()
    assert state.on_crash(stable_for=0) == 2


@pytest.mark.parametrize(
    "kwargs", [{"initial": 0}, {"cap": -1}, {"factor": 0.5}, {"reset_after": -1}], ids=str
)
def test_nonsense_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError):
        Backoff().delay(0)
