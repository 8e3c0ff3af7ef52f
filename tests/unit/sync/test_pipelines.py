"""``python -m acl.sync`` finds a project's pipelines by name (STRANGLER_SYNC_PIPELINES): their workers become
commands and their names targets of backfill and reconcile; the generic commands need none."""

from __future__ import annotations

import pytest

from acl.sync.__main__ import main
from acl.sync.pipelines import DEFAULT_PIPELINES, PIPELINES_VARIABLE, Pipeline, load_pipelines

pytestmark = pytest.mark.unit


def test_the_demos_pipelines_are_found_by_name() -> None:
    pipelines = load_pipelines(DEFAULT_PIPELINES)
    assert [pipeline.name for pipeline in pipelines] == ["catalog", "orders"]
    assert [worker.command for pipeline in pipelines for worker in pipeline.workers] == [
        "consume",
        "consume-orders",
    ]
    assert all(pipeline.backfill and pipeline.reconcile for pipeline in pipelines)


def test_a_reference_that_is_no_pipeline_is_refused_with_why() -> None:
    with pytest.raises(ValueError, match="is not a sync pipeline"):
        load_pipelines("acl.sync.settings:SyncSettings")
    with pytest.raises(ValueError, match=r"package\.module:ATTRIBUTE"):
        load_pipelines("acl.catalog.sync.pipeline")
    with pytest.raises(ValueError, match="share a name"):
        load_pipelines(f"{DEFAULT_PIPELINES}, acl.catalog.sync.pipeline:PIPELINE")
    assert load_pipelines(" ") == []
    assert Pipeline("x").workers == ()


def test_without_pipelines_their_commands_and_targets_are_unknown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PIPELINES_VARIABLE, "")
    for argv in (["consume"], ["backfill", "catalog"], ["reconcile", "orders"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
