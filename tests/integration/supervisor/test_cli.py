"""`strangler up --procfile` as a real subprocess, driven by `strangler ps/stop/start/restart` and signals."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.supervisor.harness import (
    StranglerUp,
    alive,
    fake_process,
    get,
    group_alive,
    wait_until,
    write_fake_server,
    write_procfile,
)
from tests.support.net import free_port
from tests.support.processes import ROOT, VENV_BIN

pytestmark = pytest.mark.integration


@pytest.fixture
def runs() -> Iterator[list[StranglerUp]]:
    started: list[StranglerUp] = []
    yield started
    for run in started:
        run.kill()


def start_up(runs: list[StranglerUp], home: Path, procfile: Path, *args: str) -> StranglerUp:
    run = StranglerUp.start(home, "--procfile", str(procfile), *args)
    runs.append(run)
    run.wait_ready()
    return run


def serves(port: int) -> bool:
    try:
        return get(f"http://127.0.0.1:{port}/", timeout=1)[0] == 200
    except OSError:
        return False


def test_stop_and_start_by_name_while_the_other_keeps_serving(
    tmp_path: Path, runs: list[StranglerUp]
) -> None:
    server = write_fake_server(tmp_path)
    alpha, beta = free_port(), free_port()
    procfile = write_procfile(
        tmp_path / "procs.json", [fake_process(server, "alpha", alpha), fake_process(server, "beta", beta)]
    )
    run = start_up(runs, tmp_path / "home", procfile)

    failures: list[str] = []
    done = threading.Event()

    def keep_asking_beta() -> None:
        while not done.is_set():
            try:
                status, _ = get(f"http://127.0.0.1:{beta}/", timeout=10)
                if status != 200:
                    failures.append(str(status))
            except OSError as exc:
                failures.append(repr(exc))
            done.wait(0.02)  # a steady trickle of requests, not a CPU hog on a shared machine

    poller = threading.Thread(target=keep_asking_beta)
    poller.start()
    try:
        assert run.cli("stop", "alpha").stdout.strip() == "stopped alpha"
        assert not serves(alpha)
        ps = run.ps()
        assert (ps["alpha"]["state"], ps["alpha"]["pid"]) == ("stopped", None)
        assert ps["beta"]["state"] == "running"
        assert "alpha was already stopped" in run.cli("stop", "alpha").stdout
        # Stopped on purpose: the supervisor must not bring it back (its backoff would be 0.2 s).
        with pytest.raises(TimeoutError):
            wait_until(lambda: serves(alpha), timeout=1.0)
        assert run.cli("start", "alpha").stdout.startswith("started alpha (pid ")
        assert serves(alpha)
        old_pid = run.ps()["alpha"]["pid"]
        assert run.cli("restart", "alpha").stdout.startswith("restarted alpha")
        assert run.ps()["alpha"]["pid"] != old_pid and serves(alpha)
    finally:
        done.set()
        poller.join()
    assert failures == []
    assert run.ps()["beta"]["restarts"] == 0

    table = run.cli("ps").stdout
    header = next(line for line in table.splitlines() if "name" in line)
    assert [word for word in header.split() if word.isalpha()] == [
        "name", "pid", "state", "restarts", "uptime", "health", "port",
    ]  # fmt: skip
    assert any("beta" in line and str(beta) in line and "running" in line for line in table.splitlines())

    unknown = run.cli("stop", "gamma", check=False)
    assert unknown.returncode == 1
    assert "no process named 'gamma' (known: alpha, beta)" in unknown.stderr


def test_a_killed_process_is_restarted_its_leftovers_reaped_and_the_restart_counted(
    tmp_path: Path, runs: list[StranglerUp]
) -> None:
    server = write_fake_server(tmp_path)
    port = free_port()
    pidfile = tmp_path / "grandchildren"
    procfile = write_procfile(
        tmp_path / "procs.json", [fake_process(server, "victim", port, "--grandchild-pidfile", str(pidfile))]
    )
    run = start_up(runs, tmp_path / "home", procfile)
    first = run.ps()["victim"]
    first_grandchild = int(pidfile.read_text().split()[0])

    os.kill(first["pid"], signal.SIGKILL)

    def restarted() -> dict | None:
        victim = run.ps()["victim"]
        return victim if victim["restarts"] == 1 and victim["health"] == "ok" else None

    second = wait_until(restarted, what="victim restarted and healthy")
    assert second["pid"] != first["pid"] and second["state"] == "running"
    assert serves(port)
    assert not alive(first_grandchild), "the dead leader's grandchild must be cleaned up before the restart"
    assert "victim: exited (killed by SIGKILL); restarting in 0.2s (restart #1)" in run.output()


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"]
)
def test_a_signal_stops_every_process_and_grandchild(
    tmp_path: Path, runs: list[StranglerUp], signum: signal.Signals
) -> None:
    server = write_fake_server(tmp_path)
    pidfile = tmp_path / "grandchildren"
    ports = [free_port() for _ in range(3)]
    procfile = write_procfile(
        tmp_path / "procs.json",
        [
            fake_process(server, "one", ports[0], "--grandchild-pidfile", str(pidfile)),
            fake_process(server, "two", ports[1]),
            # Ignores SIGTERM, like its grandchild: only the SIGKILL after the grace period ends them.
            fake_process(
                server,
                "stubborn",
                ports[2],
                "--ignore-term",
                "--grandchild-pidfile",
                str(pidfile),
                stop_grace=0.5,
            ),
        ],
    )
    run = start_up(runs, tmp_path / "home", procfile)
    leaders = [process["pid"] for process in run.ps().values()]
    grandchildren = [int(pid) for pid in pidfile.read_text().split()]
    assert len(grandchildren) == 2 and all(alive(pid) for pid in leaders + grandchildren)

    run.signal(signum)
    assert run.wait_exit(timeout=30) == 0, run.output()

    assert [pid for pid in leaders + grandchildren if alive(pid)] == []
    assert [pgid for pgid in leaders if group_alive(pgid)] == []
    assert not any(serves(port) for port in ports)
    assert not (tmp_path / "home" / "supervisor.sock").exists()
    output = run.output()
    assert "stubborn: still running after 0.5s, sending SIGKILL" in output
    stops = [line.split("|", 1)[1].strip() for line in output.splitlines() if ": stopped (" in line]
    assert [line.split(":")[0] for line in stops] == ["stubborn", "two", "one"], "reverse start order"


def test_cli_commands_without_a_supervisor_say_how_to_start_one(tmp_path: Path) -> None:
    for command in (["ps"], ["stop", "legacy"], ["start", "legacy"], ["restart", "legacy"]):
        result = subprocess.run(
            [str(VENV_BIN / "strangler"), *command, "--home", str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 3  # docs/cli.md: nothing answered
        assert "no supervisor is running (start it with `make run`)" in result.stderr


def test_one_supervisor_per_home_and_its_socket_is_private(tmp_path: Path, runs: list[StranglerUp]) -> None:
    server = write_fake_server(tmp_path)
    procfile = write_procfile(tmp_path / "procs.json", [fake_process(server, "solo", free_port())])
    run = start_up(runs, tmp_path / "home", procfile)
    sock = tmp_path / "home" / "supervisor.sock"
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600

    second = StranglerUp.start(tmp_path / "home", "--procfile", str(procfile))
    runs.append(second)
    assert second.wait_exit(timeout=30) == 1
    assert "a supervisor is already running for this home" in second.output()
    assert run.ps()["solo"]["state"] == "running"


def test_up_refuses_a_bad_procfile_and_unknown_only_names(tmp_path: Path, runs: list[StranglerUp]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[process]]\nname = 'x'\n")
    run = StranglerUp.start(tmp_path / "home", "--procfile", str(bad))
    runs.append(run)
    assert run.wait_exit() == 1
    assert "exactly one of 'command'" in run.output()

    server = write_fake_server(tmp_path)
    procfile = write_procfile(tmp_path / "procs.json", [fake_process(server, "solo", free_port())])
    only = StranglerUp.start(tmp_path / "home", "--procfile", str(procfile), "--only", "nobody")
    runs.append(only)
    assert only.wait_exit() == 1
    assert "unknown process nobody" in only.output()


def test_children_do_not_outlive_a_killed_supervisor(tmp_path: Path, runs: list[StranglerUp]) -> None:
    server = write_fake_server(tmp_path)
    procfile = write_procfile(
        tmp_path / "procs.json",
        [fake_process(server, "one", free_port()), fake_process(server, "two", free_port())],
    )
    run = start_up(runs, tmp_path / "home", procfile)
    leaders = [process["pid"] for process in run.ps().values()]

    run.popen.send_signal(signal.SIGKILL)
    run.wait_exit()

    # The kernel sends SIGTERM to each child when the supervisor dies (PR_SET_PDEATHSIG).
    wait_until(lambda: not any(alive(pid) for pid in leaders), timeout=10, what="children gone")
