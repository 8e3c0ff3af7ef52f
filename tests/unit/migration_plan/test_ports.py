"""The port allocator of drill stacks, soaks and the test suite: callers side by side never share a port."""

from __future__ import annotations

import multiprocessing
import socket
from pathlib import Path

from migration_plan.ports import PORT_RANGE, free_port, free_port_range


def _allocate(cursor_file: str, count: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put([free_port(Path(cursor_file)) for _ in range(count)])


def test_processes_allocating_at_once_never_share_a_port(tmp_path: Path) -> None:
    cursor = tmp_path / "cursor"
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_allocate, args=(str(cursor), 200, queue)) for _ in range(3)]
    for worker in workers:
        worker.start()
    given = [port for _ in workers for port in queue.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=60)
    assert len(given) == 600
    assert len(set(given)) == 600
    assert all(port in PORT_RANGE for port in given)


def test_a_port_someone_listens_on_is_skipped(tmp_path: Path) -> None:
    cursor = tmp_path / "cursor"
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", free_port()))  # the machine-wide cursor gives no one else this port
        squatter.listen()
        taken = squatter.getsockname()[1]
        cursor.write_text(str(taken))
        given = free_port(cursor)
    assert given != taken
    assert taken < given < taken + 50


def test_the_range_wraps_around(tmp_path: Path) -> None:
    cursor = tmp_path / "cursor"
    cursor.write_text(str(PORT_RANGE.stop - 1))
    assert free_port(cursor) in (PORT_RANGE.stop - 1, PORT_RANGE.start)
    assert int(cursor.read_text()) < PORT_RANGE.start + 100


def test_ranges_handed_out_one_after_another_never_overlap(tmp_path: Path) -> None:
    cursor = tmp_path / "cursor"
    first = free_port_range(5, cursor)
    second = free_port_range(5, cursor)
    assert set(range(first, first + 5)).isdisjoint(range(second, second + 5))


def test_a_range_with_a_listener_inside_is_skipped(tmp_path: Path) -> None:
    cursor = tmp_path / "cursor"
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", free_port()))
        squatter.listen()
        taken = squatter.getsockname()[1]
        cursor.write_text(str(taken - 2))
        base = free_port_range(4, cursor)
    assert taken not in range(base, base + 4)
    assert base > taken - 2


def test_a_range_never_runs_past_the_end_of_the_port_range(tmp_path: Path) -> None:
    cursor = tmp_path / "cursor"
    cursor.write_text(str(PORT_RANGE.stop - 2))
    base = free_port_range(4, cursor)
    assert base + 4 <= PORT_RANGE.stop
