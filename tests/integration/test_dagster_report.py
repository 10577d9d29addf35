"""A DVC stage reports what it built to the Dagster instance (runless materializations)."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.dagster_events import report_now
from pipelines.dagster_report import LOG, report

ROOT = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name in ("datasets", "profiles"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "params.yaml", root / "params.yaml")
    (root / "dagster_home").mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", root / "dagster_home" / "dagster.yaml")
    raw = root / "artifacts" / "ingest" / "raw.parquet"
    raw.parent.mkdir(parents=True)
    pl.DataFrame({"a": ["1", "2", "3"]}).write_parquet(raw)
    return root


def test_a_stage_materializes_its_assets_in_the_instance_without_a_run(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    root = _project(tmp_path)
    assert report_now("ingest", root, root / "dagster_home") == [dg.AssetKey("raw_mobility")]
    instance = dg.DagsterInstance.from_config(str(root / "dagster_home"))
    event = instance.get_latest_materialization_event(dg.AssetKey("raw_mobility"))
    assert event is not None and event.run_id == ""  # no run: reported by the stage itself
    materialization = event.asset_materialization
    assert materialization.metadata["dagster/row_count"].value == 3
    assert materialization.metadata["dvc_stage"].value == "ingest"
    assert materialization.tags["dpforecast/built_by"] == "dvc"


def test_a_queued_experiment_or_a_missing_instance_reports_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    root = _project(tmp_path)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path / "workspace"))  # a copy dvc exp run --queue made
    assert report("ingest", root) is None
    monkeypatch.delenv("DVC_ROOT")
    (root / "dagster_home" / "dagster.yaml").unlink()
    assert report("ingest", root) is None
    (root / "params.yaml").write_text("train: {epochz: 3}\n")  # any problem: one line, the stage stands
    (root / "dagster_home" / "dagster.yaml").write_text("")
    assert report_now("ingest", root, root / "dagster_home") == []
    assert "ingest: not reported to Dagster (ConfigError: train: unknown parameter(s) epochz)" in capsys.readouterr().err


def test_a_stage_hands_the_report_to_a_detached_process(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    root = _project(tmp_path)
    process = report("ingest", root)
    assert process is not None and process.wait(timeout=120) == 0
    event = dg.DagsterInstance.from_config(str(root / "dagster_home")).get_latest_materialization_event(
        dg.AssetKey("raw_mobility"))
    assert event is not None and event.asset_materialization.tags["dpforecast/built_by"] == "dvc"
    assert (root / "dagster_home" / LOG).read_text() == ""  # nothing went wrong
