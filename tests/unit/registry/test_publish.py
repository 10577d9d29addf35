"""dpforecast.registry.publish: register a tracked model folder, decide on the champion once, log and apply the decision.

Models are tiny GRUs trained on the shared synthetic workspace and tracked in a throw-away
file store; each test's decisions log sits in its own ``tmp_path``."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import polars as pl
import pytest

import dpforecast.registry.publish as publish_module
from dpforecast.registry.publish import _decisions, _log, publish, registered_name
from dpforecast.registry.scoring import scoring_targets
from dpforecast.runtime.io import read_json, write_json
from dpforecast.runtime.paths import Paths
from dpforecast.stages.train import train_one


class _Killed(BaseException):
    """Stands for the SIGKILL a crash point sends."""


def _crash_at(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    def crash(point: str) -> None:
        if point == name:
            raise _Killed(point)

    monkeypatch.setattr(publish_module, "crash_point", crash)


def _trained(ws, folder: Path, seed: int = 0) -> Path:
    train_one(ws.paths, ws.params, "gru", out_dir=folder, seed=seed, progress=False)
    return folder


def _name(ws) -> str:
    """The registered model of the workspace's non-private GRU (named after the data set)."""
    return registered_name(ws.params.model_prefix(), "gru", "none")


def _log_lines(paths: Paths) -> list[dict]:
    return [json.loads(line) for line in paths.promotions.read_text().splitlines()]


def test_a_decision_is_never_joined_to_a_line_a_power_loss_cut_short(tmp_path):
    paths = Paths(tmp_path)
    paths.promotions.write_text('{"registered_model": "mobility-gru", "version": "1", "model_ur')
    _log(paths, {"registered_model": "mobility-gru", "version": "2", "model_uri": "models:/m-2"})
    assert [e["version"] for e in _decisions(paths, "mobility-gru")] == ["2"]


def test_one_registered_model_per_task_and_privacy_mode():
    assert registered_name("mobility", "bigru", "none") == "mobility-bigru"
    assert registered_name("mobility-auckland", "gru", "ip") == "mobility-auckland-gru-ip"
    assert registered_name("mobility", "lstm", "gp") == "mobility-lstm-gp"


def test_the_first_model_becomes_champion_once_even_when_its_register_was_killed(town_workspace, tmp_path, file_store,
                                                                                  monkeypatch):
    ws = town_workspace
    paths = Paths(ws.paths.root, tracking_root=tmp_path)
    folder = _trained(ws, tmp_path / "m1")
    client, name = mlflow.MlflowClient(), _name(ws)
    with monkeypatch.context() as m:
        _crash_at(m, "register:version")
        with pytest.raises(_Killed):
            publish(paths, ws.params, "gru", {"dataset": "town"}, folder=folder)
    assert [str(v.version) for v in client.search_model_versions(f"name='{name}'")] == ["1"] and not paths.promotions.exists()

    decision = publish(paths, ws.params, "gru", {"dataset": "town"}, folder=folder)
    assert decision.promote and decision.reason == "no champion yet" and decision.challenger.version == "1"
    assert decision.challenger.score == pytest.approx(read_json(folder / "metrics.json")["rmse"]["mean"], rel=1e-5)
    assert [str(v.version) for v in client.search_model_versions(f"name='{name}'")] == ["1"]  # found again, not re-registered
    tags = client.get_model_version(name, "1").tags
    assert tags["dataset"] == "town" and tags["architecture"] == "gru" and tags["privacy.private"] == "false"
    assert tags["model.uri"] == read_json(folder / "model.json")["mlflow_model_uri"]
    assert tags["test.windows"] == "168" and tags["test.horizon"] == "1"
    assert tags["test.first_target"] == "2024-01-15T00:00:00+01:00"
    assert tags["promotion.decision"] == "promoted" and tags["promotion.recorded"] == "true"
    assert tags["promotion.champion_version"] == "" and tags["promotion.rmse"] == f"{decision.challenger.score:.4f}"
    for alias in ("champion", "challenger"):
        assert str(client.get_model_version_by_alias(name, alias).version) == "1"
    assert [(e["version"], e["promote"], e["champion_after"]) for e in _log_lines(paths)] == [("1", True, "1")]

    # the same folder again: no new version, no second decision, no alias moved
    client.set_registered_model_alias(name, "challenger", "1")
    assert publish(paths, ws.params, "gru", {"dataset": "town"}, folder=folder).to_json() == decision.to_json()
    assert len(_log_lines(paths)) == 1 and len(client.search_model_versions(f"name='{name}'")) == 1


def test_a_decision_logged_before_a_kill_is_applied_not_taken_again(town_workspace, tmp_path, file_store, monkeypatch):
    ws = town_workspace
    paths = Paths(ws.paths.root, tracking_root=tmp_path)
    first = publish(paths, ws.params, "gru", folder=_trained(ws, tmp_path / "m1"))
    name = _name(ws)
    second = _trained(ws, tmp_path / "m2", seed=1)
    client = mlflow.MlflowClient()
    with monkeypatch.context() as m:
        _crash_at(m, "register:logged")
        with pytest.raises(_Killed):
            publish(paths, ws.params, "gru", folder=second)
    assert "promotion.recorded" not in client.get_model_version(name, "2").tags
    assert str(client.get_model_version_by_alias(name, "challenger").version) == "1"

    decision = publish(paths, ws.params, "gru", folder=second)
    log = _log_lines(paths)
    assert [e["version"] for e in log] == ["1", "2"]  # decided once each
    assert decision.to_json() == {k: log[1][k] for k in decision.to_json()}
    assert decision.champion is not None and decision.champion.score == first.challenger.score
    champion = "2" if decision.promote else "1"
    assert log[1]["champion_after"] == champion == str(client.get_model_version_by_alias(name, "champion").version)
    assert str(client.get_model_version_by_alias(name, "challenger").version) == "2"
    assert client.get_model_version(name, "2").tags["promotion.champion_version"] == "1"


def test_a_model_that_cannot_be_scored_is_decided_not_promotable_and_an_unlogged_one_refused(
        town_workspace, tmp_path, file_store):
    ws = town_workspace
    paths = Paths(ws.paths.root, tracking_root=tmp_path)
    folder = _trained(ws, tmp_path / "m1")
    series, targets = scoring_targets(ws.paths, 1)
    lost = series.with_columns(pl.when(pl.col("timestamp") == targets["origin_time"][3]).then(None)
                               .otherwise(pl.col("z0001")).alias("z0001"))
    decision = publish(paths, ws.params, "gru", folder=folder, scoring=(lost, targets))
    assert not decision.promote and decision.challenger.score is None
    assert decision.reason.startswith("not promotable: it cannot be scored on the current test windows: ")
    tags = mlflow.MlflowClient().get_model_version(_name(ws), "1").tags
    assert tags["promotion.decision"] == "not promotable" and tags["promotion.rmse"] == "not scored"

    description = read_json(folder / "model.json")
    write_json(folder / "model.json", {**description, "mlflow_model_uri": None})
    with pytest.raises(ValueError, match="the model was trained without tracking; there is no logged MLflow model"):
        publish(paths, ws.params, "gru", folder=folder)
    write_json(folder / "model.json", {**description, "mlflow_model_uri": "models:/m-0123456789abcdef"})
    with pytest.raises(ValueError, match=r"its logged model models:/m-0123456789abcdef is not in the MLflow store at "
                                         + file_store):
        publish(paths, ws.params, "gru", folder=folder)
