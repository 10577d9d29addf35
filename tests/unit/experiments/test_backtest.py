"""Rolling-origin backtests: folds before the test period, refit or not, scores, and no selection under DP-SGD."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dpforecast.api.dataset import validated_series
from dpforecast.config import deep_merge, load_params
from dpforecast.evaluation.baselines import BASELINES
from dpforecast.experiments import backtest as backtest_module
from dpforecast.experiments.backtest import (
    backtest,
    fit_networks,
    fold_features,
    fold_params,
    plan_folds,
    pooled_group_coverage,
)
from dpforecast.features.feature_set import FeatureSet
from dpforecast.features.windows import window_arrays
from dpforecast.privacy.budget import open_ledger
from dpforecast.training.loop import predict

from project_roots import TINY, make_root

# One small GRU, 3 days of training history, 2 folds of 2 days: seconds per backtest.
SMALL = deep_merge(TINY, {"train": {"epochs": 1, "model": "gru"}, "split": {"history_days": 3}})
FOLDS, STEP = 2, 2


@pytest.fixture(scope="module")
def once(tmp_path_factory) -> tuple[Path, dict]:
    """A backtest that trains on fold 1 only (refit=False)."""
    root = make_root(tmp_path_factory.mktemp("backtest"), SMALL)
    return root, backtest(root, folds=FOLDS, step_days=STEP, refit=False)


def folds_of(root: Path, released: pl.DataFrame | None = None) -> list[FeatureSet]:
    """Each fold's features as the backtest cut them (from ``released`` under IP), rebuilt in
    memory from the same validated series: the backtest writes no workspace to look into."""
    params = load_params(root / "params.yaml")
    raw = validated_series(params, root)
    _, plan = plan_folds(raw, params, FOLDS, STEP)
    inner = fold_params(params, STEP)
    return [fold_features(raw, raw if released is None else released, inner, fold.end) for fold in plan]


@pytest.mark.real_data
def test_folds_are_consecutive_blocks_before_the_test_period_which_no_fold_reads(once):
    root, result = once
    test_start = date.fromisoformat(result["test_start"])
    assert test_start == date(2020, 10, 29)  # Montreuil's last 7 days are the test period
    starts = [date.fromisoformat(f["evaluation"]["start"]) for f in result["folds"]]
    ends = [date.fromisoformat(f["evaluation"]["end"]) for f in result["folds"]]
    assert [(e - s).days + 1 for s, e in zip(starts, ends, strict=True)] == [STEP] * FOLDS
    assert [s - timedelta(days=1) for s in starts[1:]] == ends[:-1] and ends[-1] + timedelta(days=1) == test_start
    for fold, features, start, end in zip(result["folds"], folds_of(root), starts, ends, strict=True):
        # The fold's series stops at its evaluation block's end: no row of a later block, nor of the test period.
        assert features.table["timestamp"].max().date() == end < test_start
        assert features.windows.height == sum(fold["windows"].values())
        evaluated = features.windows.filter(pl.col("split") == "test")["target_time"]
        assert evaluated.min().date() == start and evaluated.max().date() == end
        assert fold["windows"]["test"] == fold["scores"]["persistence"]["windows"] > 0
    saved = json.loads((root / "metrics" / "backtest.json").read_text())
    assert saved["folds"][0]["evaluation"] == result["folds"][0]["evaluation"]
    report = (root / "reports" / "backtest.md").read_text()
    assert "| gru |" in report and "| persistence |" in report and "Selected: gru." in report


@pytest.mark.real_data
def test_without_refit_one_model_trained_on_fold_one_scores_every_fold(once):
    root, result = once
    assert result["trainings"] == 1 and [f["trained_on_fold"] for f in result["folds"]] == [1] * FOLDS
    assert not (root / "artifacts" / "study").exists()  # in memory: no fold workspace, no scratch stage run
    # The second fold's score is fold 1's model (refitted here: same seed, same windows) on fold 2's windows.
    first, second = folds_of(root)
    params = fold_params(load_params(root / "params.yaml"), STEP)
    network = fit_networks(first, params, ("gru",), progress=False)["gru"]
    x, y, _ = fold_windows(second, params)
    forecast = np.clip(predict(network.model.module, x, "cpu"), 0, None)
    rmse = np.sqrt(np.mean((forecast.astype(np.float64) - y) ** 2, axis=(0, 1))).mean()
    assert result["folds"][1]["scores"]["gru"]["rmse"] == pytest.approx(rmse, rel=1e-6)
    assert result["selected"] == "gru" and result["mean"]["gru"]["folds"] == FOLDS
    assert result["mean"]["gru"]["coverage_80"] is not None and set(result["ranking"]) == {"gru", *BASELINES, "autoets"}


def fold_windows(features: FeatureSet, params) -> tuple[np.ndarray, np.ndarray, list[str]]:
    zones = list(features.targets.columns)
    x, y = window_arrays(features.table, features.windows, "test", params.features.window, params.features.horizon,
                         zones, features.targets)
    return x, y, zones


@pytest.mark.real_data
def test_persistence_rmse_per_fold_is_the_last_count_against_the_fold_targets(once):
    root, result = once
    params = fold_params(load_params(root / "params.yaml"), STEP)
    for fold, features in zip(result["folds"], folds_of(root), strict=True):
        x, y, zones = fold_windows(features, params)
        last = x[:, -1:, :len(zones)]  # the last input counts, at every lead
        rmse = np.sqrt(np.mean((last - y.astype(np.float64)) ** 2, axis=(0, 1))).mean()
        assert fold["scores"]["persistence"]["rmse"] == pytest.approx(rmse, rel=1e-9)
    mean = np.mean([f["scores"]["persistence"]["rmse"] for f in result["folds"]])
    assert result["mean"]["persistence"]["rmse"] == pytest.approx(mean)


@pytest.mark.real_data
def test_dp_sgd_folds_are_charged_and_select_nothing(tmp_path):
    root = make_root(tmp_path, SMALL)
    result = backtest(root, folds=FOLDS, step_days=STEP,
                      overrides={"privacy": {"mode": "gp"}, "features": {"scaling": "log"}})
    assert result["selected"] is None and "nothing is selected on private folds" in result["selection_note"]
    assert result["privacy"]["covered_by_privacy_guarantee"] is False and "NOT covered" in result["privacy"]["scores"]
    assert result["trainings"] == FOLDS and all(f["scores"]["gru"]["rmse"] > 0 for f in result["folds"])
    charges = open_ledger(load_params(root / "params.yaml")).charges()
    assert [c.mode for c in charges] == ["gp"] * FOLDS and len({c.key for c in charges}) == FOLDS
    assert "Selected: none." in (root / "reports" / "backtest.md").read_text()


@pytest.mark.real_data
def test_input_perturbation_folds_are_scored_against_the_release_and_may_select(tmp_path, monkeypatch):
    """Choosing on the folds under IP reads only the noisy release: post-processing, covered."""
    from dpforecast.evaluation.metrics import forecast_errors
    from dpforecast.models.persistence import persistence_forecast

    releases = []  # the one release, as the backtest drew it (the real mechanism, recorded)

    real = backtest_module.release_once

    def recorded(*args, **kwargs):
        releases.append(real(*args, **kwargs))
        return releases[-1]

    monkeypatch.setattr(backtest_module, "release_once", recorded)
    root = make_root(tmp_path, SMALL)
    result = backtest(root, folds=1, step_days=STEP, overrides={"privacy": {"mode": "ip"}})
    assert result["selected"] == "gru" and result["privacy"]["covered_by_privacy_guarantee"] is True
    [fold] = result["folds"]
    [(released, report)] = releases
    assert report.private and report.mode == "ip"
    features = folds_of(root, released)[-1]  # the last fold ends where the test period begins
    table, windows = features.table, features.windows
    zones = list(features.targets.columns)
    x, noisy = window_arrays(table, windows, "test", 6, 1, zones)
    _, raw = window_arrays(table, windows, "test", 6, 1, zones, targets=features.targets)
    assert not np.array_equal(noisy, raw)
    expected = forecast_errors(noisy, persistence_forecast(x, len(zones)), zones)["rmse"]["mean"]
    assert fold["scores"]["persistence"]["rmse"] == pytest.approx(expected)
    assert "on the noisy release" in (root / "reports" / "backtest.md").read_text()


@pytest.mark.real_data
def test_a_plan_longer_than_the_series_or_ending_after_a_missing_day_is_refused(once):
    root, result = once
    params = load_params(root / "params.yaml")
    series = validated_series(params, root)
    with pytest.raises(ValueError, match=r"20 folds x 7 days \+ 7 validation days \+ 3 training day\(s\) = 150 days"):
        plan_folds(series, params, 20, 7)
    # With the series cut on 2020-09-25, a 1-day fold would end on 2020-09-17, which the file lacks.
    cut = series.filter(pl.col("timestamp") < datetime(2020, 9, 25, tzinfo=series["timestamp"].max().tzinfo))
    with pytest.raises(ValueError, match="fold 1 would end on 2020-09-17, a day the series has no row for"):
        plan_folds(cut, params, 1, 1)


@pytest.mark.real_data
def test_the_dagster_asset_shows_the_fold_table_and_the_selection(tmp_path):
    import dagster as dg
    from dagster_assets import materialize_validated_series

    from dagster_project.definitions import defs
    from dagster_project.defs.resources import ProjectResource

    root = make_root(tmp_path, SMALL)
    materialize_validated_series(root)
    asset = next(a for a in defs.assets if a.key.to_user_string() == "backtest")
    config = {"folds": FOLDS, "step_days": STEP, "refit": False, "models": ["gru"]}
    result = dg.materialize([asset], resources={"project": ProjectResource(root=str(root))},
                            run_config={"ops": {"backtest": {"config": config}}})
    meta = result.asset_materializations_for_node("backtest")[0].metadata
    assert "| gru |" in meta["folds"].value and "fold 2 (2020-10-27..10-28)" in meta["folds"].value
    assert meta["selected"].value == "gru" and meta["trainings"].value == 1
    assert (root / "metrics" / "backtest.json").is_file()


@pytest.mark.real_data
def test_a_named_candidate_keeps_its_parameters_and_files_apart(once):
    """Choosing a hyper-parameter: each candidate backtested under its own name."""
    root, default = once
    wider = backtest(root, folds=1, step_days=STEP, overrides={"architectures": {"gru": {"units": 12}}}, name="gru-12")
    assert wider["overrides"] == {"architectures": {"gru": {"units": 12}}}
    assert json.loads((root / "metrics" / "gru-12.json").read_text())["folds"][0]["fold"] == 1
    assert (root / "reports" / "gru-12.md").is_file() and not (root / "artifacts" / "study" / "gru-12").exists()
    assert json.loads((root / "metrics" / "backtest.json").read_text())["overrides"] == default["overrides"] == {}
    assert wider["hyper"]["gru"]["units"] == 12 and default["hyper"]["gru"]["units"] == 8


def test_coverage_per_calendar_group_is_pooled_over_folds_by_the_counts_each_holds():
    folds = [{"coverage_groups": {"80": {"weekday": {"coverage": 0.9, "counts": 300},
                                         "holiday": {"coverage": 0.5, "counts": 100}}}},
             {"coverage_groups": {"80": {"weekday": {"coverage": 0.7, "counts": 100}}}}]
    assert pooled_group_coverage(folds) == {"80": {"weekday": pytest.approx(0.85), "holiday": pytest.approx(0.5)}}
    assert pooled_group_coverage([{"windows": 0}]) == {}
