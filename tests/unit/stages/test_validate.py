"""dpforecast.stages.validate: the reports always, the typed series only when every expectation holds."""

from __future__ import annotations

import json

import polars as pl
import pytest

from dpforecast.config import load_params
from dpforecast.runtime.paths import Paths
from dpforecast.stages.ingest import ingest
from dpforecast.stages.validate import RESULT_JSON, SUMMARY_MD, check_protocol, validate
from dpforecast.validation import DataValidationError

from synthetic_project import make_synthetic_root


@pytest.fixture
def project(tmp_path):
    root = make_synthetic_root(tmp_path / "p", days=3)
    params = load_params(root / "params.yaml")
    return Paths(root), params, root / params.data_set.raw


def test_a_valid_table_gives_the_typed_series_and_its_reports(project):
    paths, params, raw = project
    ingest(raw, paths.raw_table)
    report = validate(paths.raw_table, paths.series, paths.validation_dir, params)
    assert report.passed
    series = pl.read_parquet(paths.series)
    assert series.columns == ["timestamp", "z0001", "z0002", "z0003", "z0004"] and series.height == 72
    assert series["z0002"].dtype == pl.Int64 and str(series["timestamp"].dtype.time_zone) == "Europe/Paris"
    assert json.loads((paths.validation_dir / RESULT_JSON).read_text()) == json.loads(json.dumps(report.to_json()))
    assert (paths.validation_dir / SUMMARY_MD).read_text() == report.summary_markdown()


def test_a_failing_table_writes_its_reports_and_leaves_the_previous_series(project):
    paths, params, raw = project
    ingest(raw, paths.raw_table)
    validate(paths.raw_table, paths.series, paths.validation_dir, params)
    before = paths.series.read_bytes()
    lines = raw.read_text().splitlines(keepends=True)
    cells = lines[3].split(",")
    lines[3] = ",".join([cells[0], "-4", *cells[2:]])  # line 4 of the file: a negative count
    raw.write_text("".join(lines))
    ingest(raw, paths.raw_table)
    with pytest.raises(DataValidationError, match="line 4") as refused:
        validate(paths.raw_table, paths.series, paths.validation_dir, params)
    assert not refused.value.report.passed and paths.series.read_bytes() == before
    assert json.loads((paths.validation_dir / RESULT_JSON).read_text())["passed"] is False


def test_a_series_too_short_for_the_protocol_is_refused_at_validation_not_at_the_features_stage(tmp_path):
    from dpforecast.features.zones import SplitError

    root = make_synthetic_root(tmp_path / "short", days=3, overrides={"split": {"test_days": 2, "validation_days": 1}})
    params = load_params(root / "params.yaml")
    paths = Paths(root)
    ingest(root / params.data_set.raw, paths.raw_table)
    validate(paths.raw_table, paths.series, paths.validation_dir, params)  # the data alone is valid
    with pytest.raises(SplitError, match=r"leaves no training period .*protocol\.test_days / protocol\.validation_days"):
        check_protocol(paths.series, params)
    longer = make_synthetic_root(tmp_path / "long", days=9, overrides={"split": {"test_days": 2, "validation_days": 1}})
    params = load_params(longer / "params.yaml")
    paths = Paths(longer)
    ingest(longer / params.data_set.raw, paths.raw_table)
    validate(paths.raw_table, paths.series, paths.validation_dir, params)
    assert min(check_protocol(paths.series, params).values()) > 0
