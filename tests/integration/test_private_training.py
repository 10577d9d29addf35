"""Private variants through the stages: IP trains on the release, GP with DP-SGD, both
report their guarantee, charge the ledger, and refuse what they cannot pay for."""

from __future__ import annotations

import json

import pytest

from dpforecast.config import deep_merge
from dpforecast.privacy import unit_accounting
from dpforecast.privacy.budget import open_ledger
from dpforecast.privacy.checks import PrivacyConfigError
from dpforecast.privacy.ledger import BudgetExceededError
from dpforecast.runtime.project import load_project
from dpforecast.stages.evaluate import evaluate
from dpforecast.stages.features import build_features
from dpforecast.stages.ingest import ingest
from dpforecast.stages.release import release
from dpforecast.stages.train import train_one
from dpforecast.stages.validate import validate

from project_roots import TINY, make_root

# Noise multiplier 1 costs about 60 per event: far above the default budgets (8 per event,
# 16 per day), so these runs are tracked, not limited (the old JSON ledger's default budget
# was 1000). The refusal test sets its own tiny budget.
GP = deep_merge(TINY, {"train": {"epochs": 1, "model": "bigru"}, "features": {"scaling": "none"},
                       "privacy": {"mode": "gp", "gp": {"noise_multiplier": 1.0, "max_grad_norm": 1.0},
                                   "budget": {"event": None, "day": None}}})


def _prepare(tmp_path, overrides):
    root = make_root(tmp_path, overrides)
    paths, params = load_project(root)
    ingest(root / params.data_set.raw, paths.raw_table)
    validate(paths.raw_table, paths.series, paths.validation_dir, params)
    release(paths, params)
    build_features(paths, params)
    return paths, params


@pytest.mark.real_data
def test_gp_training_reports_the_accountants_epsilon_and_charges_the_ledger(tmp_path, monkeypatch):
    # With the owner's key a run's randomness, and so its ledger key, is reproducible.
    monkeypatch.setenv("DPFORECAST_PRIVACY_KEY", "5a" * 32)
    paths, params = _prepare(tmp_path, GP)
    result = train_one(paths, params, "bigru", track=False, progress=False)
    report = json.loads((paths.model_dir("bigru") / "privacy.json").read_text())
    n = 3102 - 330  # training windows before the validation block (gaps excluded)
    units, batch, _ = params.hyper("bigru")
    q = batch / n
    # One event touches window + horizon = 7 windows, 2C each: dp_accounting's mixture PLD.
    expected = unit_accounting.unit_epsilon(1.0, q, round(1 / q), params.privacy.delta, 7, 2.0)
    assert report["private"] and report["epsilon"] == pytest.approx(expected, rel=1e-9)
    assert report["delta"] == params.privacy.delta and report["unit"].startswith("one event")
    assert report["windows_per_unit"] == 7 and report["accountant"] == "pld"
    assert result.test["rmse"]["mean"] > 0
    charges = open_ledger(params).charges()
    assert [c.mode for c in charges] == ["gp"]
    # The same run with the owner's key draws the same batches and noise: not a new
    # disclosure, no second charge.
    train_one(paths, params, "bigru", track=False, progress=False)
    assert [c.key for c in open_ledger(params).charges()] == [charges[0].key]


@pytest.mark.real_data
def test_gp_noise_is_searched_to_meet_the_target_epsilon(tmp_path):
    overrides = deep_merge(GP, {"privacy": {"epsilon": 2.0, "gp": {"noise_multiplier": None}}})
    paths, params = _prepare(tmp_path, overrides)
    train_one(paths, params, "bigru", track=False, progress=False)
    report = json.loads((paths.model_dir("bigru") / "privacy.json").read_text())
    assert 1.9 < report["epsilon"] <= 2.0 and report["noise_multiplier"] > 0


@pytest.mark.real_data
def test_gp_refuses_a_scaler_fitted_on_private_data(tmp_path):
    paths, params = _prepare(tmp_path, deep_merge(GP, {"features": {"scaling": "standard"}}))
    with pytest.raises(PrivacyConfigError, match="features.scaling"):
        train_one(paths, params, "bigru", track=False, progress=False)
    assert not paths.model_dir("bigru").exists()


@pytest.mark.real_data
def test_a_run_over_budget_is_refused_before_training(tmp_path):
    paths, params = _prepare(tmp_path, deep_merge(GP, {"privacy": {"budget": {"event": 0.001}}}))
    with pytest.raises(BudgetExceededError, match="unit 'event'"):
        train_one(paths, params, "bigru", track=False, progress=False)
    assert not paths.model_dir("bigru").exists() and open_ledger(params).charges() == []


@pytest.mark.real_data
def test_ip_trains_on_the_release_and_is_scored_on_raw_targets(tmp_path):
    overrides = deep_merge(TINY, {"train": {"epochs": 1, "model": "gru"},
                                  "privacy": {"mode": "ip", "epsilon": 0.5}})
    paths, params = _prepare(tmp_path, overrides)
    assert paths.release_series.is_file()
    assert [c.mode for c in open_ledger(params).charges()] == ["ip"]
    result = train_one(paths, params, "gru", track=False, progress=False)
    report = json.loads((paths.model_dir("gru") / "privacy.json").read_text())
    assert report["mode"] == "ip" and report["epsilon"] == 0.5 and report["unit"].startswith("one event")
    # R1 contains R2-R6: one event is two counts, each moved by up to 3 (per_count), so the
    # noise is calibrated to 3 sqrt(2).
    assert report["counts_per_unit"] == 2 and report["sensitivity"] == pytest.approx(3 * 2 ** 0.5)
    assert {e["unit"] for e in report["unit_epsilons"]} == {"event", "day", "week", "person"}
    assert report["person_level"]["protected"] is False
    assert any("R1 (the commune) contains R2-R6" in n for n in report["notes"])
    assert "against_noisy_targets" in result.test
    # The evaluate stage scores the reloaded model on the raw targets too, as training did.
    evaluated = evaluate(paths, params, track=False)
    assert evaluated["gru"]["rmse"]["mean"] == pytest.approx(result.test["rmse"]["mean"], rel=1e-6)
    # The field's baselines fit the release too: its guarantee covers them and their intervals.
    assert evaluated["autoets"]["privacy"] == evaluated["gru"]["privacy"] != "not private"
    assert evaluated["autoets"]["intervals"]["covered_by_privacy_guarantee"] is True
    assert json.loads(paths.metric("epsilon").read_text())["autoets"] == 0.5
    # A second release of the same data and parameters extends nothing and costs nothing more.
    release(paths, params)
    assert len(open_ledger(params).charges()) == 1


@pytest.mark.real_data
def test_a_tracked_dp_sgd_run_logs_steps_and_epsilon_spent_never_a_private_loss(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    paths, params = _prepare(tmp_path, GP)
    result = train_one(paths, params, "bigru", progress=False)
    run = mlflow.MlflowClient(f"sqlite:///{paths.mlflow_db}").get_run(result.mlflow_run_id)
    logged = set(run.data.metrics)
    assert not any("loss" in name for name in logged), logged
    assert {"steps", "privacy_epsilon_spent_rdp"} <= logged
    history = json.loads((paths.model_dir("bigru") / "history.json").read_text())
    assert all(set(row) == {"steps"} for row in history)
    report = json.loads((paths.model_dir("bigru") / "privacy.json").read_text())
    # The event's RDP bound after the last step: the report's own RDP figure.
    assert run.data.metrics["privacy_epsilon_spent_rdp"] == pytest.approx(report["epsilons"]["rdp"], rel=1e-9)
