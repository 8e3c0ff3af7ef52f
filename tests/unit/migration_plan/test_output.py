"""Children's lines, prefixed with their process name."""

import io

import pytest

from migration_plan.toolbox.supervisor.output import LogSink, ProcessLog

pytestmark = pytest.mark.unit


def test_names_are_padded_to_the_longest_including_the_supervisor() -> None:
    stream = io.StringIO()
    sink = LogSink(stream, ["db", "controlplane"])
    sink.line("db", "ready")
    sink.info("all up")
    sink.line("controlplane", "listening")
    assert stream.getvalue().splitlines() == [
        "db           | ready",
        "supervisor   | all up",
        "controlplane | listening",
    ]


def test_colour_only_when_asked_and_each_process_gets_its_own() -> None:
    stream = io.StringIO()
    sink = LogSink(stream, ["a", "b"], colour=True)
    sink.line("a", "x")
    sink.line("b", "y")
    sink.error("boom")
    a, b, error = stream.getvalue().splitlines()
    assert a.startswith("\x1b[36ma          | \x1b[0m") and a.endswith("x")
    assert b.startswith("\x1b[35mb          | \x1b[0m")
    assert error.endswith("\x1b[1;31mboom\x1b[0m")


class GoneReader(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_that_went_away_does_not_stop_the_logs(tmp_path) -> None:
    sink = LogSink(GoneReader(), ["web"])
    log = ProcessLog("web", sink, tmp_path)
    log.open()
    log.write("first")
    log.write("second")
    log.close()
    assert (tmp_path / "web.log").read_text() == "first\nsecond\n"
    assert log.tail() == ["first", "second"]


def test_json_log_lines_are_readable_on_the_console_and_kept_as_written_in_the_file(tmp_path) -> None:
    stream = io.StringIO()
    log = ProcessLog("dataplane", LogSink(stream, ["dataplane"]), tmp_path)
    log.open()
    line = (
        '{"timestamp": "2026-12-05T02:08:01.252+00:00", "level": "warning", '
        '"logger": "strangler_proxy.dataplane.forward", "event": "falling back to the legacy", '
        '"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}'
    )
    log.write(line)
    log.write('{"level": "error", "logger": "x", "event": "boom", "exception": "Traceback\\nValueError"}')
    log.write("{not json")
    log.write("INFO:     a text line")
    log.close()
    assert stream.getvalue().splitlines() == [
        "dataplane  | WARNING strangler_proxy.dataplane.forward: falling back to the legacy "
        "[trace 4bf92f3577b34da6a3ce929d0e0e4736]",
        "dataplane  | ERROR x: boom",
        "Traceback",
        "ValueError",
        "dataplane  | {not json",
        "dataplane  | INFO:     a text line",
    ]
    assert (tmp_path / "dataplane.log").read_text().splitlines()[0] == line
