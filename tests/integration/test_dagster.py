"""The Dagster code location: it loads, materializes like DVC, and a bad file blocks it.

- The definitions list the eight assets, the blocking check and ``full_pipeline``.
- ``dg.materialize`` of the whole graph on a tiny configuration succeeds, and the data
  files it writes are byte-for-byte those the DVC stage scripts write in another root.
- A negative count in the CSV fails the blocking check; ``validated_series`` is not built.
- The privacy budget: the ledger's check on ``features`` (spend per unit as metadata, WARN
  when the next retraining would exceed the budget); the sensor leaves a private retraining
  over budget out of its run (deliveries still accepted) and the schedule skips it, each with
  the ledger's refusal; none of them writes to the ledger.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster_assets import materialize_validated_series

from dagster_project.definitions import defs
from dagster_project.defs.budget import BUDGET_TAG, REFUSAL_TAG, SKIPPED_TAG
from dagster_project.defs.resources import MlflowResource, ProjectResource
from dagster_project.defs.scope import project_graph
from dpforecast.config import ARCHITECTURES, load_params
from dpforecast.experiments.variants import SETTINGS
from dpforecast.privacy.budget import open_ledger
from dpforecast.privacy.charges import GaussianRelease
from dpforecast.runtime.io import write_json
from dpforecast.runtime.paths import Paths

REPO = Path(__file__).resolve().parents[2]

RAW = REPO / "data" / "montreuil" / "ML_final_df_real.csv"
ASSETS = {"incoming_data", "raw_mobility", "validated_series", "released_series", "features",
          *(f"model_{a}" for a in ARCHITECTURES), "evaluation",
          "registered_models"}
CHECK = dg.AssetCheckKey(dg.AssetKey("raw_mobility"), "raw_mobility_is_valid")
BUDGET_CHECK = dg.AssetCheckKey(dg.AssetKey("features"), "privacy_budget_has_room")
DATA_FILES = [
    "artifacts/ingest/raw.parquet",
    "artifacts/validate/series.parquet",
    "artifacts/features/table.parquet",
    "artifacts/features/windows.parquet",
    "artifacts/features/targets.parquet",
    "artifacts/release/release.json",
]

pytestmark = pytest.mark.skipif(not RAW.is_file(), reason=f"raw data set not found at {RAW}")


def make_root(root: Path, csv_text: bytes | None = None, privacy: dict | None = None) -> Path:
    """A project root: the raw CSV (or ``csv_text``) and params.yaml for 1 epoch, 4 units
    (``privacy`` merged over params.yaml's)."""
    data = root / "data" / "montreuil"
    data.mkdir(parents=True, exist_ok=True)
    target = data / RAW.name
    if csv_text is None:
        shutil.copyfile(RAW, target)
    else:
        target.write_bytes(csv_text)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["train"]["epochs"] = 1
    for arch in params["architectures"].values():
        arch["units"] = 4
    for key, value in (privacy or {}).items():
        if isinstance(value, dict):
            params["privacy"][key] = {**params["privacy"].get(key, {}), **value}
        else:
            params["privacy"][key] = value
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    if (REPO / "profiles").is_dir():
        shutil.copytree(REPO / "profiles", root / "profiles")
    shutil.copytree(REPO / "datasets", root / "datasets")
    return root


def materialize(root: Path, **kwargs) -> dg.ExecuteInProcessResult:
    """The unpartitioned graph (what ``full_pipeline`` runs)."""
    return dg.materialize(
        project_graph(defs),
        resources={"project": ProjectResource(root=str(root)), "mlflow": MlflowResource()},
        **kwargs,
    )


@pytest.fixture(autouse=True)
def _tracking_in_root(monkeypatch):
    """MLflow's default store under the tmp root; the root given to the resource, not the env."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DPFORECAST_ROOT", raising=False)


@pytest.mark.real_data
def test_definitions_load_assets_check_and_job():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    # The project's data set (params.yaml's) unprefixed; each other data set's graph under its name.
    assert {k for k in keys if "/" not in k} == ASSETS | {"model_variant", "backtest"}
    assert {k for k in keys if "/" in k} == {f"auckland/{a}" for a in ASSETS}
    assert defs.resolve_job_def("auckland_full_pipeline").asset_layer.selected_asset_keys == {
        dg.AssetKey(["auckland", a]) for a in ASSETS}
    assert CHECK in graph.asset_check_keys
    assert all(spec.blocking for spec in defs.get_asset_checks_def(CHECK).check_specs)
    # The privacy budget's check, on each data set's features, warns without blocking.
    assert BUDGET_CHECK in graph.asset_check_keys
    assert not any(spec.blocking for spec in defs.get_asset_checks_def(BUDGET_CHECK).check_specs)
    assert dg.AssetCheckKey(dg.AssetKey(["auckland", "features"]), "privacy_budget_has_room") in graph.asset_check_keys
    assert defs.resolve_schedule_def("daily_retraining").job_name == "full_pipeline"
    assert defs.resolve_schedule_def("auckland_daily_retraining").job_name == "auckland_full_pipeline"
    assert defs.resolve_sensor_def("auckland_incoming_data_sensor").job_name == "auckland_full_pipeline"

    job = defs.resolve_job_def("full_pipeline")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == ASSETS
    variants = defs.resolve_job_def("privacy_variants")
    assert {k.to_user_string() for k in variants.asset_layer.selected_asset_keys} == {"model_variant"}
    keys = variants.partitions_def.get_partition_keys()
    assert len(keys) == len(ARCHITECTURES) * len(SETTINGS) and "bigru|gp-eps1" in keys
    assert CHECK in job.asset_layer.asset_graph.asset_check_keys
    assert BUDGET_CHECK in job.asset_layer.asset_graph.asset_check_keys
    assert set(defs.resources) == {"project", "mlflow"}
    groups = {spec.key.to_user_string(): spec.group_name for spec in defs.resolve_all_asset_specs()}
    assert groups["raw_mobility"] == groups["features"] == "data"
    assert groups["model_gru"] == "training" and groups["evaluation"] == "evaluation"


@pytest.mark.real_data
def test_materialize_whole_graph_matches_dvc_stages(tmp_path):
    root = make_root(tmp_path / "dagster")
    result = materialize(root)
    assert result.success

    checks = {c.asset_check_key: c for c in result.get_asset_check_evaluations()}
    assert {k: c.passed for k, c in checks.items()} == {CHECK: True, BUDGET_CHECK: True}
    assert checks[CHECK].metadata["failed_expectations"].value == 0
    assert checks[BUDGET_CHECK].metadata["next_retraining"].value.startswith("privacy.mode none")

    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == ASSETS
    evaluation = result.asset_materializations_for_node("evaluation")[0].metadata
    assert "| persistence |" in evaluation["summary"].value
    assert all(f"| {a} |" in evaluation["summary"].value for a in ARCHITECTURES)
    assert evaluation["lead_time_curve"].value.startswith("| lead | ") and "| 0.5 h |" in evaluation["lead_time_curve"].value
    assert "| gru | 95% |" in evaluation["coverage"].value
    model = result.asset_materializations_for_node("model_gru")[0].metadata
    assert model["test_rmse_mean"].value > 0 and len(model["mlflow_run_id"].value) == 32
    assert (root / "metrics" / "rmse.json").is_file() and (root / "mlflow.db").is_file()

    # The DVC stage scripts, run as dvc would (cwd = project root), write the same bytes.
    dvc_root = make_root(tmp_path / "dvc")
    env = {k: v for k, v in os.environ.items() if k not in ("DPFORECAST_ROOT", "MLFLOW_TRACKING_URI")}
    for stage in ("ingest", "validate", "release", "features"):
        done = subprocess.run(
            [sys.executable, str(REPO / "pipelines" / f"{stage}.py")],
            cwd=dvc_root, env=env, capture_output=True, text=True, timeout=300,
        )
        assert done.returncode == 0, f"{stage}: {done.stderr[-2000:]}"
    for rel in DATA_FILES:
        assert (root / rel).read_bytes() == (dvc_root / rel).read_bytes(), rel


def negative_count(csv: bytes, line_no: int = 10, column: int = 3) -> bytes:
    """The CSV with one zone count on ``line_no`` (1 = header) made negative."""
    lines = csv.split(b"\n")
    cells = lines[line_no - 1].split(b",")
    cells[column] = b"-" + cells[column]
    lines[line_no - 1] = b",".join(cells)
    return b"\n".join(lines)


@pytest.mark.real_data
def test_bad_raw_file_fails_the_blocking_check_and_stops_downstream(tmp_path):
    root = make_root(tmp_path, csv_text=negative_count(RAW.read_bytes()))
    result = materialize(root, raise_on_error=False)
    assert not result.success

    checks = result.get_asset_check_evaluations()
    assert [(c.asset_check_key, c.passed) for c in checks] == [(CHECK, False)]
    meta = checks[0].metadata
    assert meta["failed_expectations"].value >= 1
    assert "**FAIL**" in meta["summary"].value
    assert "data validation failed" in checks[0].description

    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"incoming_data", "raw_mobility"}
    assert not (root / "artifacts" / "validate" / "series.parquet").exists()


@pytest.mark.real_data
def test_a_private_variant_partition_materializes_with_its_guarantee(tmp_path):
    """One partition (DP-SGD GRU at epsilon 1): trained for real in its own folder, charged
    to the ledger, with epsilon, its unit and delta in the metadata."""
    root = make_root(tmp_path)
    variant = next(a for a in defs.assets if a.key.to_user_string() == "model_variant")
    key = dg.MultiPartitionKey({"model": "gru", "privacy": "gp-eps1"})
    unmaterialized = dg.materialize([variant], partition_key=key, raise_on_error=False,
                                    resources={"project": ProjectResource(root=str(root)), "mlflow": MlflowResource()})
    assert not unmaterialized.success  # it reads validated_series, never re-validates: named when absent
    failure = unmaterialized.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert "materialize validated_series first" in failure.description
    materialize_validated_series(root)
    result = dg.materialize([variant], partition_key=key,
                            resources={"project": ProjectResource(root=str(root)), "mlflow": MlflowResource()})
    assert result.success
    meta = result.asset_materializations_for_node("model_variant")[0].metadata
    assert meta["private"].value is True
    assert meta["privacy_epsilon"].value <= 1.0 and meta["privacy_delta"].value == 1e-7
    assert meta["privacy_unit"].value.startswith("one event")
    assert meta["test_rmse_mean"].value > 0 and len(meta["mlflow_run_id"].value) == 32
    assert (root / "artifacts" / "study" / "variant-gp-eps1-gru" / "models" / "gru-seed0" / "privacy.json").is_file()
    assert sorted(p.name for p in (root / "artifacts" / "study" / "variant-gp-eps1-gru").iterdir()) == ["models"]
    assert meta["registry"].value.startswith("v1: champion")
    import mlflow

    version = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}").get_model_version_by_alias("mobility-gru-gp", "champion")
    assert version.tags["variant"] == "gp-eps1" and version.tags["privacy.mode"] == "gp"
    charges = open_ledger(load_params(root / "params.yaml")).charges()
    assert [c.mode for c in charges] == ["gp"] and charges[0].description == "DP-SGD training of gru"
    assert not (root / "privacy_ledger.json").exists()  # the ledger is the data set's, outside the root


# --- the privacy budget: the ledger's check, the sensor and the schedule ----------------------

# DP-SGD with a fixed noise multiplier (no search) on one epoch: a second to compose.
GP = {"mode": "gp", "gp": {"noise_multiplier": 20.0}}
TINY_BUDGET = {"budget": {"event": 0.01}}
ROOMY_BUDGET = {"budget": {"event": 1000.0, "day": 1000.0}}
REFUSAL = "privacy budget exceeded on unit 'event' of data set 'montreuil'"
PRIVATE_PART = {"model_lstm", "model_gru", "model_bilstm", "model_bigru", "evaluation", "registered_models"}


def budget_root(tmp_path: Path, privacy: dict, n_train: int | None = 2000, delivery: bool = False) -> Path:
    """A root whose last features build had ``n_train`` training windows (no summary: None),
    optionally with a delivery waiting in ``files.incoming``."""
    root = make_root(tmp_path / "root", privacy=privacy)
    paths, params = Paths(root), load_params(root / "params.yaml")
    if n_train is not None:
        paths.feature_summary.parent.mkdir(parents=True, exist_ok=True)
        write_json(paths.feature_summary, {"windows": {"train": n_train, "validation": 10, "test": 10}})
    if delivery:
        incoming = root / params.data_set.incoming
        incoming.mkdir(parents=True, exist_ok=True)
        (incoming / "2020-11-05.csv").write_text("date,zone\n")
    return root


def ledger_of(root: Path):
    return open_ledger(load_params(root / "params.yaml"))


def run_sensor(root: Path, name: str = "incoming_data_sensor"):
    sensor = defs.resolve_sensor_def(name)
    return sensor(dg.build_sensor_context(resources={"project": ProjectResource(root=str(root))}))


def run_schedule(root: Path, name: str = "daily_retraining"):
    schedule = defs.resolve_schedule_def(name)
    return schedule(dg.build_schedule_context(resources={"project": ProjectResource(root=str(root))}))


def run_budget_check(root: Path) -> dg.AssetCheckResult:
    check = defs.get_asset_checks_def(BUDGET_CHECK)
    return check(dg.build_asset_check_context(resources={"project": ProjectResource(root=str(root))}))


@pytest.mark.real_data
def test_budget_check_shows_each_unit_and_passes_with_room(tmp_path):
    root = budget_root(tmp_path, {**GP, **ROOMY_BUDGET})
    ledger = ledger_of(root)
    ledger.charge("earlier", {u: GaussianRelease(10.0, 1.0) for u in ledger.units}, "ip", "an earlier release", "v0")
    result = run_budget_check(root)
    assert result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.description.startswith("within budget: DP-SGD training of lstm; DP-SGD training of gru")
    meta = result.metadata
    assert meta["ledger"].value == ledger.location and ledger.location.startswith(os.environ["DPFORECAST_HOME"])
    assert {k for k in meta if k.startswith("unit_")} == {f"unit_{u}" for u in ledger.units}
    event = meta["unit_event"].value
    assert event["charges"] == 1 and event["budget"] == 1000.0 and 0 < event["epsilon_pld"] <= event["epsilon_rdp"]
    assert event["epsilon_basic"] > 0 and event["remaining"] == pytest.approx(1000.0 - event["epsilon_pld"])
    assert meta["unit_week"].value["budget"] is None and meta["unit_week"].value["remaining"] is None
    assert meta["planned_charges"].value == 4 and meta["mode"].value == "gp"
    assert [c.key for c in ledger.charges()] == ["earlier"]  # nothing written


@pytest.mark.real_data
def test_budget_check_warns_when_the_next_training_would_exceed(tmp_path):
    root = budget_root(tmp_path, {**GP, **TINY_BUDGET})
    result = run_budget_check(root)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.description.startswith(REFUSAL) and "the 4 planned charges" in result.description
    assert "> budget 0.01" in result.description and result.metadata["unit_event"].value["charges"] == 0
    assert ledger_of(root).charges() == []


@pytest.mark.real_data
def test_sensor_leaves_a_private_retraining_over_budget_out(tmp_path):
    root = budget_root(tmp_path, {**GP, **TINY_BUDGET}, delivery=True)
    (request,) = run_sensor(root).run_requests
    refusal = request.tags[REFUSAL_TAG]
    assert refusal.startswith(REFUSAL) and "> budget 0.01" in refusal and request.tags[SKIPPED_TAG].startswith("skipped")
    assert request.tags["dpforecast/trigger"] == "incoming-data" and request.run_key.startswith("2020-11-05.csv:")
    selected = {k.to_user_string() for k in request.asset_selection}
    assert selected == {"incoming_data", "raw_mobility", "validated_series", "released_series", "features"}
    assert set(request.asset_check_keys) == {CHECK, BUDGET_CHECK}
    # The run is a part of the job, and nothing downstream of a model asset is in it.
    job = defs.resolve_job_def("full_pipeline")
    job_keys = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert selected | PRIVATE_PART == job_keys and not selected & PRIVATE_PART
    part = job.get_subset(asset_selection=set(request.asset_selection), asset_check_selection=set(request.asset_check_keys))
    assert {k.to_user_string() for k in part.asset_layer.selected_asset_keys} == selected
    assert ledger_of(root).charges() == []


@pytest.mark.real_data
def test_sensor_input_perturbation_new_release_over_budget_runs_up_to_validation(tmp_path):
    root = budget_root(tmp_path, {"mode": "ip", **TINY_BUDGET}, delivery=True)
    (request,) = run_sensor(root).run_requests
    assert "a new discrete_gaussian continual release" in request.tags[REFUSAL_TAG]
    assert {k.to_user_string() for k in request.asset_selection} == {"incoming_data", "raw_mobility", "validated_series"}
    assert set(request.asset_check_keys) == {CHECK}
    assert ledger_of(root).charges() == []


@pytest.mark.real_data
def test_sensor_within_budget_requests_the_whole_job(tmp_path):
    root = budget_root(tmp_path, {**GP, **ROOMY_BUDGET}, delivery=True)
    (request,) = run_sensor(root).run_requests
    assert request.asset_selection is None and request.asset_check_keys is None
    assert REFUSAL_TAG not in request.tags and request.tags[BUDGET_TAG].startswith("within budget: DP-SGD")
    assert ledger_of(root).charges() == []


@pytest.mark.real_data
def test_schedule_skips_a_private_retraining_over_budget(tmp_path):
    root = budget_root(tmp_path, {**GP, **TINY_BUDGET})
    skipped = run_schedule(root)
    assert isinstance(skipped, dg.SkipReason)
    assert skipped.skip_message.startswith(REFUSAL) and "> budget 0.01" in skipped.skip_message
    assert ledger_of(root).charges() == []


@pytest.mark.real_data
def test_schedule_within_budget_or_not_estimable_requests_the_run(tmp_path):
    roomy = run_schedule(budget_root(tmp_path / "roomy", {**GP, **ROOMY_BUDGET}))
    assert isinstance(roomy, dg.RunRequest) and roomy.asset_selection is None
    assert roomy.tags["dpforecast/trigger"] == "schedule" and roomy.tags[BUDGET_TAG].startswith("within budget")
    # No features built yet: no estimate, the run goes (each model asset checks the ledger itself).
    fresh = run_schedule(budget_root(tmp_path / "fresh", {**GP, **TINY_BUDGET}, n_train=None))
    assert isinstance(fresh, dg.RunRequest) and fresh.tags[BUDGET_TAG].startswith("not estimated: no feature summary")
    public = run_schedule(budget_root(tmp_path / "public", {"mode": "none", **TINY_BUDGET}))
    assert isinstance(public, dg.RunRequest) and public.tags[BUDGET_TAG].startswith("privacy.mode none")


@pytest.mark.real_data
def test_another_data_sets_schedule_checks_its_own_ledger(tmp_path):
    root = budget_root(tmp_path, {"mode": "ip", **TINY_BUDGET})
    skipped = run_schedule(root, "auckland_daily_retraining")
    assert isinstance(skipped, dg.SkipReason)
    assert skipped.skip_message.startswith("privacy budget exceeded on unit 'event' of data set 'auckland'")
    assert "ledgers/auckland.sqlite" in skipped.skip_message
