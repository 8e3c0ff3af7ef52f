"""``python -m acl.sync`` finds a project's pipelines by name (STRANGLER_SYNC_PIPELINES, else ``[sync]
pipelines`` of strangler.toml): their workers become commands and their names targets of backfill and
reconcile; the generic commands need none, and the engine names no pipeline of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from acl.sync.__main__ import main
from acl.sync.pipelines import PIPELINES_VARIABLE, Pipeline, configured_pipelines, load_pipelines

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
DEMO = "acl.catalog.sync.pipeline:PIPELINE acl.orders.sync.pipeline:PIPELINE"


def test_the_repositorys_project_file_names_the_demos_pipelines() -> None:
    assert configured_pipelines({}, ROOT) == DEMO
    pipelines = load_pipelines(configured_pipelines({}, ROOT))
    assert [pipeline.name for pipeline in pipelines] == ["catalog", "orders"]
    assert [worker.command for pipeline in pipelines for worker in pipeline.workers] == [
        "consume",
        "consume-orders",
    ]
    assert all(pipeline.backfill and pipeline.reconcile for pipeline in pipelines)


def test_the_variable_wins_and_without_either_there_is_no_pipeline(tmp_path: Path) -> None:
    assert configured_pipelines({PIPELINES_VARIABLE: "a.b:C"}, ROOT) == "a.b:C"
    assert configured_pipelines({PIPELINES_VARIABLE: ""}, ROOT) == ""
    assert configured_pipelines({}, tmp_path) == ""  # no strangler.toml: the engine assumes none
    (tmp_path / "strangler.toml").write_text('[sync]\nworkers = ["relay"]\n')
    assert configured_pipelines({}, tmp_path) == ""
    (tmp_path / "strangler.toml").write_text('[sync]\npipelines = "x.y:Z"\n')
    with pytest.raises(ValueError, match=r"\[sync\] pipelines is a list"):
        configured_pipelines({}, tmp_path)
    (tmp_path / "strangler.toml").write_text("[sync\n")
    with pytest.raises(ValueError, match=r"strangler\.toml"):
        configured_pipelines({}, tmp_path)


def test_a_reference_that_is_no_pipeline_is_refused_with_why() -> None:
    with pytest.raises(ValueError, match="is not a sync pipeline"):
        load_pipelines("acl.sync.settings:SyncSettings")
    with pytest.raises(ValueError, match=r"package\.module:ATTRIBUTE"):
        load_pipelines("acl.catalog.sync.pipeline")
    with pytest.raises(ValueError, match="share a name"):
        load_pipelines(f"{DEMO}, acl.catalog.sync.pipeline:PIPELINE")
    assert load_pipelines(" ") == []
    assert Pipeline("x").workers == ()


def test_without_pipelines_their_commands_and_targets_are_refused_with_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PIPELINES_VARIABLE, "")
    for argv in (["consume"], ["backfill", "catalog"], ["reconcile", "orders"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"no sync pipeline is registered, so {argv[0]!r} is unknown" in err
        assert PIPELINES_VARIABLE in err and "[sync] pipelines" in err
    monkeypatch.delenv("STRANGLER_SYNC_SERVICE_DATABASE_URL", raising=False)
    monkeypatch.delenv("STRANGLER_SYNC_ORIGIN", raising=False)
    assert main(["dead-letters"]) == 2  # a generic command without its service: what to set, no traceback
    assert "error: no service database: set STRANGLER_SYNC_SERVICE_DATABASE_URL" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:  # a generic command parses as ever
        main(["lag", "--bogus"])
    assert exited.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_with_the_demos_pipelines_a_targets_typo_is_still_argparses(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PIPELINES_VARIABLE, DEMO)
    with pytest.raises(SystemExit) as exited:
        main(["backfill", "catalgo"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
