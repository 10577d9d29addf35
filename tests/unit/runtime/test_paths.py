"""dpforecast.runtime.paths: every stage's files under one root, the tracking state where it is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpforecast.runtime.paths import METRIC_FILES, Paths


def test_outputs_are_under_the_root():
    paths = Paths(Path("/p"))
    assert paths.sources == Path("/p")
    assert (paths.raw_table, paths.series) == (Path("/p/artifacts/ingest/raw.parquet"),
                                               Path("/p/artifacts/validate/series.parquet"))
    assert paths.release_series.parent == paths.release_metadata.parent == paths.release_dir == Path("/p/artifacts/release")
    features = {paths.feature_table, paths.targets, paths.feature_summary, paths.windows}
    assert {p.parent for p in features} == {Path("/p/artifacts/features")} and len(features) == 4
    assert paths.model_dir("gru") == Path("/p/models/gru") and paths.leads == Path("/p/plots/leads.json")
    assert [paths.metric(name).name for name in METRIC_FILES] == [f"{name}.json" for name in METRIC_FILES]
    assert paths.details.parent == paths.per_zone.parent == paths.promotion_metrics.parent == Path("/p/metrics")


def test_the_tracking_state_and_the_sources_may_live_elsewhere():
    own = Paths(Path("/p"))
    assert (own.mlflow_db, own.mlflow_artifacts, own.promotions) == (Path("/p/mlflow.db"), Path("/p/mlartifacts"),
                                                                     Path("/p/promotions.jsonl"))
    study = Paths(Path("/p/artifacts/study/x"), tracking_root=Path("/p"), source_root=Path("/data"))
    assert study.mlflow_db == Path("/p/mlflow.db") and study.promotions == Path("/p/promotions.jsonl")
    assert study.sources == Path("/data") and study.series == Path("/p/artifacts/study/x/artifacts/validate/series.parquet")


def test_an_unknown_metrics_file_is_refused_by_name():
    with pytest.raises(ValueError, match=r"not a metrics file: 'accuracy' \(one of \('rmse'"):
        Paths(Path("/p")).metric("accuracy")
