"""The supervisor with small fake processes: health waits, startup errors, backoff, setup, log prefixes."""

from __future__ import annotations

import asyncio
import io
import re
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from migration_plan.toolbox.supervisor.backoff import Backoff
from migration_plan.toolbox.supervisor.output import LogSink
from migration_plan.toolbox.supervisor.spec import ProcessSpec, RestartPolicy, SetupStep
from migration_plan.toolbox.supervisor.supervisor import Supervisor
from tests.integration.supervisor.harness import alive, get, write_fake_server
from tests.support.net import free_port

pytestmark = pytest.mark.integration

Scenario = Callable[[Supervisor], Awaitable[None]]


def fake(server: Path, name: str, port: int, *extra: str, **options: object) -> ProcessSpec:
    return ProcessSpec(
        name=name,
        argv=(sys.executable, str(server), "--port", str(port), "--name", name, *extra),
        health_urls=(f"http://127.0.0.1:{port}/healthz",),
        port=port,
        stop_grace=3.0,
        **options,  # type: ignore[arg-type]
    )


def run(specs: list[ProcessSpec], home: Path, scenario: Scenario | None = None) -> tuple[int, str, float]:
    """Run a supervisor on ``specs``; once everything is up, play ``scenario`` and stop.

    Returns the exit code, everything the supervisor printed, and how long startup took.
    """
    stream = io.StringIO()
    supervisor = Supervisor(
        specs, home=home, sink=LogSink(stream, [spec.name for spec in specs]), health_interval=0.2
    )
    startup = 0.0

    async def main() -> int:
        nonlocal startup
        stop, ready = asyncio.Event(), asyncio.Event()
        began = time.monotonic()
        task = asyncio.create_task(supervisor.run(stop, ready.set))
        ready_wait = asyncio.create_task(ready.wait())
        await asyncio.wait({task, ready_wait}, return_when=asyncio.FIRST_COMPLETED)
        ready_wait.cancel()
        startup = time.monotonic() - began
        if not task.done():
            try:
                if scenario is not None:
                    await scenario(supervisor)
            finally:
                stop.set()
        return await asyncio.wait_for(task, timeout=30)

    code = asyncio.run(main())
    return code, stream.getvalue(), startup


@pytest.fixture
def server(tmp_path: Path) -> Path:
    return write_fake_server(tmp_path)


def test_waits_until_a_slow_process_is_healthy_before_starting_the_next(server: Path, tmp_path: Path) -> None:
    slow_port, next_port = free_port(), free_port()
    seen: dict[str, object] = {}

    async def scenario(supervisor: Supervisor) -> None:
        seen.update({name: process.snapshot() for name, process in supervisor.processes.items()})

    code, output, startup = run(
        [fake(server, "slow", slow_port, "--ready-after", "1.0"), fake(server, "next", next_port)],
        tmp_path / "home",
        scenario,
    )
    assert code == 0, output
    assert startup >= 1.0
    assert seen["slow"]["state"] == "running" and seen["slow"]["health"] == "ok"  # type: ignore[index]
    lines = output.splitlines()
    healthy = next(i for i, line in enumerate(lines) if "slow: healthy after" in line)
    next_started = next(i for i, line in enumerate(lines) if "next: started" in line)
    assert healthy < next_started, output


def test_a_process_without_a_health_check_is_healthy_while_it_runs(server: Path, tmp_path: Path) -> None:
    """A service's worker (no port, no health URL): `strangler ps` and the drills' readiness see it "ok"."""
    port = free_port()
    seen: dict[str, object] = {}

    async def scenario(supervisor: Supervisor) -> None:
        seen.update({name: process.snapshot() for name, process in supervisor.processes.items()})

    worker = ProcessSpec(
        name="web-worker", argv=(sys.executable, "-c", "import time; time.sleep(60)"), stop_grace=3.0
    )
    code, output, _ = run([fake(server, "web", port), worker], tmp_path / "home", scenario)
    assert code == 0, output
    assert seen["web-worker"]["state"] == "running" and seen["web-worker"]["health"] == "ok"  # type: ignore[index]


def test_a_process_that_never_becomes_healthy_is_a_clear_error_with_its_last_lines(
    server: Path, tmp_path: Path
) -> None:
    port, later_port = free_port(), free_port()
    code, output, _ = run(
        [
            fake(
                server,
                "never",
                port,
                "--ready-after",
                "3600",
                "--grandchild-pidfile",
                str(tmp_path / "gc"),
                startup_timeout=4.0,
            ),
            fake(server, "later", later_port),
        ],
        tmp_path / "home",
    )
    assert code == 1
    assert f"never failed to start: not healthy after 4s (last: http://127.0.0.1:{port}/healthz" in output
    assert "--- last 2 lines of never ---" in output
    assert "never listening on" in output
    assert "later: started" not in output
    grandchild = int((tmp_path / "gc").read_text())
    assert not alive(grandchild) and get_refused(port)


def get_refused(port: int) -> bool:
    try:
        get(f"http://127.0.0.1:{port}/", timeout=1)
    except OSError:
        return True
    return False


def test_a_process_that_exits_before_it_is_healthy_names_the_exit_code(server: Path, tmp_path: Path) -> None:
    spec = fake(server, "crashy", free_port(), "--exit-after", "0", "--exit-code", "3", "--ready-after", "60")
    code, output, _ = run([spec], tmp_path / "home")
    assert code == 1
    assert "crashy failed to start: exited (exit code 3) before it was healthy" in output
    assert "crashy exits with 3" in output


def test_a_crashing_process_is_restarted_with_growing_backoff_up_to_the_cap(
    server: Path, tmp_path: Path
) -> None:
    spec = ProcessSpec(
        name="flaky",
        argv=(
            sys.executable,
            str(server),
            "--port",
            str(free_port()),
            "--name",
            "flaky",
            "--exit-after",
            "0.2",
        ),
        backoff=Backoff(initial=0.1, factor=2, cap=0.4, reset_after=30),
    )

    async def until_four_restarts(supervisor: Supervisor) -> None:
        while supervisor.processes["flaky"].restarts < 4:
            await asyncio.sleep(0.05)

    code, output, _ = run([spec], tmp_path / "home", until_four_restarts)
    assert code == 0
    delays = re.findall(r"flaky: exited \(exit code 1\); restarting in ([0-9.]+)s \(restart #(\d)\)", output)
    assert delays[:4] == [("0.1", "1"), ("0.2", "2"), ("0.4", "3"), ("0.4", "4")], output


def test_a_process_whose_policy_says_never_is_left_exited(server: Path, tmp_path: Path) -> None:
    spec = ProcessSpec(
        name="once",
        argv=(
            sys.executable,
            str(server),
            "--port",
            str(free_port()),
            "--name",
            "once",
            "--exit-after",
            "0.3",
        ),
        restart=RestartPolicy.NEVER,
    )
    states: list[str] = []

    async def until_exited(supervisor: Supervisor) -> None:
        process = supervisor.processes["once"]
        while process.snapshot()["state"] != "exited":
            await asyncio.sleep(0.05)
        states.append(process.snapshot()["state"])
        states.append(str(process.restarts))

    code, output, _ = run([spec], tmp_path / "home", until_exited)
    assert code == 0
    assert states == ["exited", "0"]
    assert "once: exited (exit code 1); its policy does not restart it" in output


def test_setup_runs_before_every_run_and_once_steps_only_the_first_time(server: Path, tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    append = "import sys; open(sys.argv[1], 'a').write(sys.argv[2])"
    port = free_port()
    spec = fake(
        server,
        "app",
        port,
        setup=(
            SetupStep(argv=(sys.executable, "-c", append, str(counter), "m")),
            SetupStep(
                argv=(sys.executable, "-c", append, str(counter), "s"),
                once_marker=tmp_path / "data" / ".seeded",
            ),
        ),
    )
    for _ in range(2):
        code, output, _ = run([spec], tmp_path / "home")
        assert code == 0, output
    assert counter.read_text() == "msm"
    assert f"app: skipping `{sys.executable} -c" in output


def test_a_failing_setup_command_stops_the_run_with_its_output(server: Path, tmp_path: Path) -> None:
    spec = fake(
        server,
        "app",
        free_port(),
        setup=(SetupStep(argv=(sys.executable, "-c", "print('no database here'); raise SystemExit(4)")),),
    )
    code, output, _ = run([spec], tmp_path / "home")
    assert code == 1
    assert "app failed to start: setup command" in output and "exited with code 4" in output
    assert "no database here" in output
    assert "app: started" not in output


def test_output_is_prefixed_with_aligned_process_names_and_kept_in_log_files(
    server: Path, tmp_path: Path
) -> None:
    specs = [fake(server, "a", free_port()), fake(server, "longer-name", free_port())]
    code, output, _ = run(specs, tmp_path / "home")
    assert code == 0
    assert re.search(r"^a {10} \| a listening on \d+$", output, re.MULTILINE), output
    assert re.search(r"^a {10} \| a writes to stderr too$", output, re.MULTILINE), output
    assert re.search(r"^longer-name \| longer-name listening on \d+$", output, re.MULTILINE), output
    assert re.search(r"^supervisor  \| a: started \(pid \d+\)$", output, re.MULTILINE), output
    log = (tmp_path / "home" / "logs" / "longer-name.log").read_text()
    assert "longer-name listening on" in log and "longer-name writes to stderr too" in log


def test_a_process_answers_while_it_runs_and_not_after_the_supervisor_stops(
    server: Path, tmp_path: Path
) -> None:
    port = free_port()
    answers: list[tuple[int, str]] = []

    async def scenario(_: Supervisor) -> None:
        answers.append(await asyncio.to_thread(get, f"http://127.0.0.1:{port}/"))

    code, _, _ = run([fake(server, "web", port)], tmp_path / "home", scenario)
    assert code == 0
    assert answers[0][0] == 200 and answers[0][1].startswith("web ")
    assert get_refused(port)


def test_stopping_a_process_that_waits_to_be_restarted_cancels_the_restart(
    server: Path, tmp_path: Path
) -> None:
    spec = ProcessSpec(
        name="flaky",
        argv=(
            sys.executable,
            str(server),
            "--port",
            str(free_port()),
            "--name",
            "flaky",
            "--exit-after",
            "0.2",
        ),
        backoff=Backoff(initial=0.8, factor=2, cap=5, reset_after=30),
    )
    seen: list[object] = []

    async def stop_during_backoff(supervisor: Supervisor) -> None:
        process = supervisor.processes["flaky"]
        while process.snapshot()["state"] != "backoff":
            await asyncio.sleep(0.02)
        seen.append(await process.stop())
        await asyncio.sleep(1.2)  # longer than the backoff: a restart would have happened by now
        seen.append(process.snapshot())

    code, output, _ = run([spec], tmp_path / "home", stop_during_backoff)
    assert code == 0
    changed, snapshot = seen
    assert changed is True
    assert (snapshot["state"], snapshot["pid"], snapshot["restarts"]) == ("stopped", None, 0)  # type: ignore[index]
    assert output.count("flaky: started") == 1


def test_processes_of_one_stage_start_together(server: Path, tmp_path: Path) -> None:
    first = fake(server, "first", free_port())
    slow = [fake(server, name, free_port(), "--ready-after", "1.0", stage=1) for name in ("left", "right")]
    code, output, _ = run([first, *slow], tmp_path / "home")
    assert code == 0
    lines = output.splitlines()

    def index(text: str) -> int:
        return next(i for i, line in enumerate(lines) if text in line)

    assert index("first: healthy") < index("left: started")
    assert max(index("left: started"), index("right: started")) < min(
        index("left: healthy"), index("right: healthy")
    ), output


def test_a_port_taken_by_someone_else_is_refused_before_starting(server: Path, tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        code, output, _ = run([fake(server, "web", port)], tmp_path / "home")
    assert code == 1
    assert f"web failed to start: port {port} is already in use on 127.0.0.1" in output
    assert "web: started" not in output
