"""The retraining loop on replayed days: sensor, ingest of a delivery, DVC version, registry.

A demo project holds back the real series' last two days. The first run trains and
crowns champions; a delivered day triggers the sensor, is accepted, versioned with
``dvc add`` and retrained on; a corrupted day is refused, blocks retraining and leaves
every champion as it was; restoring the first data version with ``dvc checkout``
reproduces the first champion's score.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import mlflow
import pytest
import yaml

from dagster_project.definitions import defs
from dagster_project.defs.resources import MlflowResource, ProjectResource
from dagster_project.defs.scope import project_graph
from dpforecast.config import ARCHITECTURES, deep_merge, load_params
from dpforecast.data.versioning import dvc_md5, restore_data
from dpforecast.experiments.replay import deliver_next, init_replay
from dpforecast.registry.scoring import score_version, scoring_targets
from dpforecast.runtime.paths import Paths
from dpforecast.stages.features import build_features
from dpforecast.stages.ingest import ingest
from dpforecast.stages.validate import validate

from project_roots import REPO, TINY

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _no_user_store(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DPFORECAST_ROOT", raising=False)


def _run(demo) -> dg.ExecuteInProcessResult:
    return dg.materialize(project_graph(defs), raise_on_error=False,
                          resources={"project": ProjectResource(root=str(demo)), "mlflow": MlflowResource()})


def _sensor(demo):
    sensor = defs.get_sensor_def("incoming_data_sensor")
    return sensor(dg.build_sensor_context(resources={"project": ProjectResource(root=str(demo))}))


def test_replayed_days_retrain_refuse_and_restore(tmp_path):
    demo = tmp_path / "demo"
    held = init_replay(demo, 2, source=REPO)
    assert held == ["2020-11-03", "2020-11-04"]
    params = yaml.safe_load((demo / "params.yaml").read_text())
    (demo / "params.yaml").write_text(yaml.safe_dump(deep_merge(params, TINY), sort_keys=False))
    client = mlflow.MlflowClient(f"sqlite:///{demo / 'mlflow.db'}")

    assert isinstance(_sensor(demo), dg.SkipReason)
    first = _run(demo)
    assert first.success
    v1 = dvc_md5(demo)
    champions = {a: client.get_model_version_by_alias(f"mobility-{a}", "champion") for a in ARCHITECTURES}
    assert all(str(mv.version) == "1" and mv.tags["data.dvc_md5"] == v1 for mv in champions.values())

    # Day 1 arrives: the sensor asks for a run, which accepts it, versions it and retrains.
    deliver_next(demo)
    requests = _sensor(demo).run_requests
    assert len(requests) == 1 and requests[0].tags["dpforecast/trigger"] == "incoming-data"
    second = _run(demo)
    assert second.success
    v2 = dvc_md5(demo)
    assert v2 != v1 and (demo / "data" / "montreuil" / "increments" / "2020-11-03.csv").is_file()
    accepted = second.asset_materializations_for_node("incoming_data")[0].metadata
    assert accepted["accepted"].value == 1 and accepted["data_version"].value == v2
    for arch in ARCHITECTURES:
        latest = client.get_model_version(f"mobility-{arch}", "2")
        assert latest.tags["data.dvc_md5"] == v2 and latest.tags["promotion.reason"]
    before = {a: str(client.get_model_version_by_alias(f"mobility-{a}", "champion").version) for a in ARCHITECTURES}

    # A corrupted day 2: refused, the run fails before training, champions unchanged.
    deliver_next(demo, corrupt=True)
    third = _run(demo)
    assert not third.success
    failure = next(e for e in third.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "incoming_data" and "delivery refused" in failure.event_specific_data.error.message
    assert not third.asset_materializations_for_node("model_gru")
    assert (demo / "data" / "rejected" / "2020-11-04.csv").is_file()
    assert "-" in (demo / "data" / "rejected" / "2020-11-04.csv.md").read_text()
    assert dvc_md5(demo) == v2
    assert {a: str(client.get_model_version_by_alias(f"mobility-{a}", "champion").version) for a in ARCHITECTURES} == before
    assert len(client.search_model_versions("name='mobility-gru'")) == 2
    decisions = [json.loads(line) for line in (demo / "promotions.jsonl").read_text().splitlines()]
    assert len(decisions) == 2 * len(ARCHITECTURES)

    # dvc checkout of the first data version reproduces the first champion's score.
    run_id = champions["gru"].run_id
    dvc_file = Path(client.download_artifacts(run_id, "lineage/data.dvc", str(tmp_path)))
    restored = restore_data(demo, dvc_file.read_text())
    assert restored == v1 and not (demo / "data" / "montreuil" / "increments").exists()
    p = load_params(demo / "params.yaml")
    paths = Paths(demo)
    ingest(demo / p.data_set.raw, paths.raw_table)
    validate(paths.raw_table, paths.series, paths.validation_dir, p)
    build_features(paths, p)
    mlflow.set_tracking_uri(f"sqlite:///{demo / 'mlflow.db'}")
    series, targets = scoring_targets(paths, p.features.horizon)
    score = score_version("models:/mobility-gru/1", series, targets)["rmse"]["mean"]
    assert score == pytest.approx(float(champions["gru"].tags["promotion.rmse"]), rel=1e-6)
