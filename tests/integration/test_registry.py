"""Registry, promotion and serving on real (tiny) trainings tracked in a temporary MLflow store.

One GRU is trained untrained-bad first (learning rate 1e-7), then properly, then bad
again: the first becomes champion because there is none, the second beats it, the third
is kept as challenger. Predict serves the champion from a CSV window.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import mlflow
import polars as pl
import pytest

from dpforecast.config import deep_merge, load_params
from dpforecast.data.schema import TIMESTAMP
from dpforecast.runtime.paths import Paths
from dpforecast.runtime.project import lineage
from dpforecast.stages.features import build_features
from dpforecast.stages.ingest import ingest
from dpforecast.stages.register import register
from dpforecast.stages.release import release
from dpforecast.stages.train import train_one
from dpforecast.stages.validate import validate

from montreuil_spec import ZONE_NAMES, ZONES
from project_roots import TINY, make_root

BAD = {"architectures": {"gru": {"learning_rate": 1e-7}}}


def _train(root: Path, overrides: dict) -> tuple[Paths, dict]:
    params = load_params(root / "params.yaml", **deep_merge({"train": {"model": "gru"}}, overrides))
    paths = Paths(root)
    ingest(root / params.data_set.raw, paths.raw_table)
    validate(paths.raw_table, paths.series, paths.validation_dir, params)
    release(paths, params)
    build_features(paths, params)
    tags = lineage(paths, params)
    train_one(paths, params, "gru", progress=False, lineage=tags)
    return paths, register(paths, params, lineage=tags)["gru"]


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    root = make_root(tmp_path_factory.mktemp("registry"), TINY)
    first = _train(root, BAD)[1]
    second = _train(root, {})[1]
    paths, third = _train(root, BAD)
    client = mlflow.MlflowClient(f"sqlite:///{paths.mlflow_db}")
    return root, paths, client, (first, second, third)


@pytest.fixture(autouse=True)
def _no_user_store(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.mark.real_data
def test_champion_moves_only_to_a_better_model(registry):
    _, _, client, (first, second, third) = registry
    assert [d["version"] for d in (first, second, third)] == [1, 2, 3]
    assert first["promoted"] and first["reason"] == "no champion yet"
    assert second["promoted"] and second["rmse"] < 0.99 * second["champion_rmse"]
    assert not third["promoted"] and "does not beat" in third["reason"]
    assert str(client.get_model_version_by_alias("mobility-gru", "champion").version) == "2"
    assert str(client.get_model_version_by_alias("mobility-gru", "challenger").version) == "3"
    # Beside every decision, the baselines' score on the same windows: the field's AutoETS among them.
    baselines = third["baselines_rmse"]
    assert {"persistence", "ridge", "seasonal_day", "autoets"} <= set(baselines) and baselines["autoets"] > 0
    assert baselines == first["baselines_rmse"]  # the same test windows and fits every time


@pytest.mark.real_data
def test_versions_carry_lineage_guarantee_and_decision(registry):
    _, paths, client, _ = registry
    tags = client.get_model_version("mobility-gru", "3").tags
    assert tags["data.dvc_md5"].endswith(".dir") and "git_commit" in tags
    assert tags["privacy.private"] == "false" and json.loads(tags["privacy.report"])["mode"] == "none"
    assert tags["promotion.decision"] == "kept champion" and tags["promotion.champion_version"] == "2"
    log = [json.loads(line) for line in paths.promotions.read_text().splitlines()]
    assert [(e["version"], e["promote"], e["champion_after"]) for e in log] == [("1", True, "1"), ("2", True, "2"), ("3", False, "2")]


@pytest.mark.real_data
def test_a_looser_private_model_does_not_replace_a_stricter_champion(registry):
    root, _, client, _ = registry
    # epsilon 50 per event is far above the default budgets: tracked, not limited here
    gp = {"privacy": {"mode": "gp", "budget": {"event": None, "day": None}}, "features": {"scaling": "log"},
          "train": {"epochs": 1}}
    strict = _train(root, deep_merge(gp, {"privacy": {"epsilon": 0.5}}))[1]
    loose = _train(root, deep_merge(gp, {"privacy": {"epsilon": 50.0}}))[1]
    assert strict["registered_model"] == "mobility-gru-gp" and strict["promoted"]
    assert not loose["promoted"] and "looser" in loose["reason"]
    assert str(client.get_model_version_by_alias("mobility-gru-gp", "champion").version) == "1"


def _window_csv(paths: Paths, out: Path, rows: int = 6) -> Path:
    """The last ``rows`` intervals in the operator's format (what a user would cut)."""
    tail = pl.read_parquet(paths.series).tail(rows)
    frame = tail.select(
        pl.col(TIMESTAMP).dt.strftime("%Y-%m-%d").alias("Date"),
        pl.col(TIMESTAMP).dt.strftime("%H:%M:%S").alias("Hour"),
        *(pl.col(z).alias(name) for z, name in ZONE_NAMES.items()),
    ).with_columns(pl.sum_horizontal(list(ZONE_NAMES.values())).alias("Total"))
    frame.write_csv(out)
    return out


def _predict(root: Path, *args: str) -> subprocess.CompletedProcess:
    cli = Path(sys.executable).with_name("dpforecast")
    env = {"PATH": str(Path(sys.executable).parent), "DPFORECAST_ROOT": str(root), "HOME": str(root)}
    return subprocess.run([str(cli), "predict", *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.real_data
def test_predict_serves_the_champion_from_a_csv_window(registry, tmp_path):
    root, paths, _, _ = registry
    window = _window_csv(paths, tmp_path / "window.csv")
    done = _predict(root, "--model", "models:/mobility-gru@champion", "--input", str(window))
    assert done.returncode == 0, done.stderr
    origin = pl.read_parquet(paths.series)[TIMESTAMP][-1]
    expected = (origin.astimezone(UTC) + timedelta(minutes=30)).astimezone(ZoneInfo("Europe/Paris"))
    assert f"forecast from {origin.isoformat()} for {expected.isoformat()} (1 lead)" in done.stdout
    assert "80% and 95% intervals: split conformal, second half of the validation block, raw counts" in done.stdout
    rows = done.stdout.splitlines()[3:]
    assert [r.split()[:2] for r in rows] == [[z, ZONE_NAMES[z].split()[0]] for z in ZONES]
    assert all(r.count("[") == 2 for r in rows)  # the 80% and 95% intervals


@pytest.mark.real_data
def test_predict_writes_every_window_lead_and_zone_to_csv(registry, tmp_path):
    root, paths, _, _ = registry
    window = _window_csv(paths, tmp_path / "window.csv", rows=9)
    out = tmp_path / "out" / "forecasts.csv"
    done = _predict(root, "--model", "models:/mobility-gru@champion", "--input", str(window), "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert f"wrote {4 * len(ZONES)} rows" in done.stdout
    table = pl.read_csv(out)
    assert table.columns == ["origin_time", "target_time", "duration_minutes", "lead", "zone", "forecast", "lower_80",
                             "upper_80", "lower_95", "upper_95"]
    assert set(table["duration_minutes"]) == {30}  # an absolute clock: every target lasts the interval
    assert table["zone"].to_list() == ZONES * 4 and set(table["lead"]) == {1}
    assert table["origin_time"][-1] == pl.read_parquet(paths.series)[TIMESTAMP][-1].isoformat()
    assert (table["lower_95"] <= table["lower_80"]).all() and (table["upper_80"] <= table["upper_95"]).all()
    assert [p.name for p in out.parent.iterdir()] == ["forecasts.csv"]  # no temporary left beside it

    served = mlflow.pyfunc.load_model("models:/mobility-gru@champion")
    assert served.metadata.run_id == mlflow.MlflowClient().get_model_version("mobility-gru", "2").run_id


@pytest.mark.real_data
def test_predict_refuses_a_short_or_broken_window(registry, tmp_path):
    root, paths, _, _ = registry
    short = _window_csv(paths, tmp_path / "short.csv", rows=4)
    done = _predict(root, "--model", "models:/mobility-gru@champion", "--input", str(short))
    # a short window names the intervals it lacks (serving's last complete stretch)
    assert done.returncode == 2 and f"{short}: no 6 consecutive 30-minute intervals with a count for every zone" in done.stderr
    assert "the last 6 intervals up to 2020-11-04T23:30:00+01:00 are needed" in done.stderr and "no row for 2" in done.stderr
    missing = _predict(root, "--model", "models:/no-such-model@champion", "--input", str(short))
    assert missing.returncode == 2 and "cannot load models:/no-such-model@champion" in missing.stderr


@pytest.mark.real_data
def test_a_model_tracked_in_another_store_is_refused_clearly(registry, tmp_path, monkeypatch):
    """Models restored by DVC into a workspace whose MLflow store never saw them."""
    import shutil

    from dpforecast.stages.register import register as register_stage

    _, paths, _, _ = registry
    other = make_root(tmp_path / "other", TINY)
    shutil.copytree(paths.root / "artifacts", other / "artifacts")
    shutil.copytree(paths.model_dir("gru"), Paths(other).model_dir("gru"))
    params = load_params(other / "params.yaml", train={"model": "gru"})
    with pytest.raises(ValueError, match="is not in the MLflow store"):
        register_stage(Paths(other), params)


class _Killed(BaseException):
    """Stands for the SIGKILL a crash point sends (the slow kill test sends the real one)."""


def _crash_at(patch, name: str) -> None:
    import dpforecast.registry.publish as publish_module

    def crash(point: str) -> None:
        if point == name:
            raise _Killed(point)

    patch.setattr(publish_module, "crash_point", crash)


def _versions(client) -> list[str]:
    return sorted(str(v.version) for v in client.search_model_versions("name='mobility-gru'"))


@pytest.mark.real_data
def test_a_register_killed_half_way_is_completed_not_repeated(tmp_path, monkeypatch):
    """Killed after the version exists: the rerun reuses it. Killed after the decision is
    logged: the rerun applies that decision instead of taking a second one; so does the
    register of the next model, if the killed one is never rerun. A version whose register
    was killed before deciding, and never rerun, is marked so. A decision applied once is
    not applied again (the aliases may have moved on)."""
    root = make_root(tmp_path, TINY)
    params = load_params(root / "params.yaml", train={"model": "gru"})
    paths = Paths(root)
    client = mlflow.MlflowClient(f"sqlite:///{paths.mlflow_db}")

    def log() -> list[tuple[str, bool]]:
        return [(e["version"], e["promote"]) for e in map(json.loads, paths.promotions.read_text().splitlines())]

    with monkeypatch.context() as m:
        _crash_at(m, "register:version")
        with pytest.raises(_Killed):
            _train(root, {})
    assert _versions(client) == ["1"] and not paths.promotions.exists()
    first = register(paths, params, lineage=lineage(paths, params))["gru"]
    assert first["version"] == 1 and first["promoted"] and _versions(client) == ["1"]

    with monkeypatch.context() as m:
        _crash_at(m, "register:logged")
        with pytest.raises(_Killed):
            _train(root, BAD)
    pending = client.get_model_version("mobility-gru", "2")
    assert "promotion.recorded" not in pending.tags and "promotion.decision" not in pending.tags
    assert str(client.get_model_version_by_alias("mobility-gru", "challenger").version) == "1"
    second = register(paths, params, lineage=lineage(paths, params))["gru"]
    assert log() == [("1", True), ("2", False)]  # decided once each
    assert second["version"] == 2 and not second["promoted"]
    tags = client.get_model_version("mobility-gru", "2").tags
    assert tags["promotion.recorded"] == "true" and tags["promotion.decision"] == "kept champion"
    assert str(client.get_model_version_by_alias("mobility-gru", "challenger").version) == "2"

    # Killed after logging, then a new model arrives before any rerun: completed first.
    with monkeypatch.context() as m:
        _crash_at(m, "register:logged")
        with pytest.raises(_Killed):
            _train(root, {"train": {"seed": 1}})
    _train(root, {"train": {"seed": 2}})
    assert log() == [("1", True), ("2", False), ("3", log()[2][1]), ("4", log()[3][1])]
    assert client.get_model_version("mobility-gru", "3").tags["promotion.recorded"] == "true"

    # Killed before deciding, then a new model arrives: the undecided version is marked.
    with monkeypatch.context() as m:
        _crash_at(m, "register:version")
        with pytest.raises(_Killed):
            _train(root, {"train": {"seed": 3}})
    _train(root, {"train": {"seed": 4}})
    undecided = client.get_model_version("mobility-gru", "5").tags
    assert undecided["promotion.decision"] == "not decided" and undecided["promotion.recorded"] == "true"
    assert [v for v, _ in log()] == ["1", "2", "3", "4", "6"]

    # Registering the same model again changes nothing: no new version, no alias moved.
    champion = str(client.get_model_version_by_alias("mobility-gru", "champion").version)
    client.set_registered_model_alias("mobility-gru", "challenger", "1")
    register(paths, params, lineage=lineage(paths, params))
    assert _versions(client) == ["1", "2", "3", "4", "5", "6"] and len(log()) == 5
    assert str(client.get_model_version_by_alias("mobility-gru", "champion").version) == champion
    assert str(client.get_model_version_by_alias("mobility-gru", "challenger").version) == "1"


def test_a_model_that_cannot_be_scored_is_decided_not_promotable(tmp_path):
    """The series the test windows are scored on has lost a count since the model was
    trained: the model cannot forecast every test window, so register records it as not
    promotable with the reason (no traceback, no version left undecided)."""
    import shutil

    import yaml

    from dpforecast.data import synthetic

    repo = Path(__file__).resolve().parents[2]
    root = tmp_path / "town"
    shutil.copytree(repo / "profiles", root / "profiles")
    synthetic.write(synthetic.generate(zones=3, days=24, interval_minutes=60, seed=1), root / "data" / "town", "town",
                    root=root)
    params_yaml = deep_merge(yaml.safe_load((repo / "params.yaml").read_text()), {**TINY, "dataset": "town"})
    (root / "params.yaml").write_text(yaml.safe_dump(params_yaml, sort_keys=False))
    params = load_params(root / "params.yaml", train={"model": "gru"})
    paths = Paths(root)
    ingest(root / params.data_set.raw, paths.raw_table)
    validate(paths.raw_table, paths.series, paths.validation_dir, params)
    release(paths, params)
    build_features(paths, params)
    tags = lineage(paths, params)
    train_one(paths, params, "gru", progress=False, lineage=tags)
    series = pl.read_parquet(paths.series)
    series.with_columns(pl.when(pl.int_range(pl.len()) == series.height - 3).then(None).otherwise(pl.col("z0002"))
                        .alias("z0002")).write_parquet(paths.series)

    decision = register(paths, params, lineage=tags)["gru"]
    assert not decision["promoted"] and decision["rmse"] is None
    assert decision["reason"].startswith("not promotable: it cannot be scored on the current test windows: ")
    assert "cannot forecast every test window and lead" in decision["reason"]
    client = mlflow.MlflowClient(f"sqlite:///{paths.mlflow_db}")
    version = client.get_model_version(decision["registered_model"], "1").tags
    assert version["promotion.recorded"] == "true" and version["promotion.rmse"] == "not scored"
    assert version["promotion.decision"] == "not promotable" and "cannot be scored" in version["promotion.reason"]
    logged = [json.loads(line) for line in paths.promotions.read_text().splitlines()]
    assert [(e["version"], e["promote"], e["challenger"]["score"]) for e in logged] == [("1", False, None)]
