"""The Dagster code location: it loads, materializes like DVC, and a bad file blocks it.

- The definitions list the eight assets, the blocking check and ``full_pipeline``.
- ``dg.materialize`` of the whole graph on a tiny configuration succeeds, and the data
  files it writes are byte-for-byte those the DVC stage scripts write in another root.
- A negative count in the CSV fails the blocking check; ``validated_series`` is not built.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster_project.defs.scope import project_graph
import pytest
import yaml

from dagster_project.definitions import defs
from dagster_project.defs.resources import MlflowResource, ProjectResource
from dpforecast.config import ARCHITECTURES
from dpforecast.variants import SETTINGS

REPO = Path(__file__).resolve().parents[1]

RAW = REPO / "data" / "montreuil" / "ML_final_df_real.csv"
ASSETS = {"incoming_data", "raw_mobility", "validated_series", "released_series", "features", *(f"model_{a}" for a in ARCHITECTURES), "evaluation",
          "registered_models"}
CHECK = dg.AssetCheckKey(dg.AssetKey("raw_mobility"), "raw_mobility_is_valid")
DATA_FILES = [
    "artifacts/ingest/raw.parquet",
    "artifacts/validate/series.parquet",
    "artifacts/features/table.parquet",
    "artifacts/features/windows.parquet",
    "artifacts/features/targets.parquet",
    "artifacts/release/release.json",
]

pytestmark = pytest.mark.skipif(not RAW.is_file(), reason=f"raw data set not found at {RAW}")


def make_root(root: Path, csv_text: bytes | None = None) -> Path:
    """A project root: the raw CSV (or ``csv_text``) and params.yaml for 1 epoch, 4 units."""
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

    job = defs.resolve_job_def("full_pipeline")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == ASSETS
    variants = defs.resolve_job_def("privacy_variants")
    assert {k.to_user_string() for k in variants.asset_layer.selected_asset_keys} == {"model_variant"}
    keys = variants.partitions_def.get_partition_keys()
    assert len(keys) == len(ARCHITECTURES) * len(SETTINGS) and "bigru|gp-eps1" in keys
    assert CHECK in job.asset_layer.asset_graph.asset_check_keys
    assert set(defs.resources) == {"project", "mlflow"}
    groups = {spec.key.to_user_string(): spec.group_name for spec in defs.resolve_all_asset_specs()}
    assert groups["raw_mobility"] == groups["features"] == "data"
    assert groups["model_gru"] == "training" and groups["evaluation"] == "evaluation"


def test_materialize_whole_graph_matches_dvc_stages(tmp_path):
    root = make_root(tmp_path / "dagster")
    result = materialize(root)
    assert result.success

    checks = result.get_asset_check_evaluations()
    assert [(c.asset_check_key, c.passed) for c in checks] == [(CHECK, True)]
    assert checks[0].metadata["failed_expectations"].value == 0

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


def test_a_private_variant_partition_materializes_with_its_guarantee(tmp_path):
    """One partition (DP-SGD GRU at epsilon 1): trained for real in its own folder, charged
    to the ledger, with epsilon, its unit and delta in the metadata."""
    root = make_root(tmp_path)
    variant = next(a for a in defs.assets if a.key.to_user_string() == "model_variant")
    key = dg.MultiPartitionKey({"model": "gru", "privacy": "gp-eps1"})
    result = dg.materialize([variant], partition_key=key,
                            resources={"project": ProjectResource(root=str(root)), "mlflow": MlflowResource()})
    assert result.success
    meta = result.asset_materializations_for_node("model_variant")[0].metadata
    assert meta["private"].value is True
    assert meta["privacy_epsilon"].value <= 1.0 and meta["privacy_delta"].value == 1e-7
    assert meta["privacy_unit"].value.startswith("one event")
    assert meta["test_rmse_mean"].value > 0 and len(meta["mlflow_run_id"].value) == 32
    assert (root / "artifacts" / "study" / "variant-gp-eps1-gru" / "models" / "gru-seed0" / "privacy.json").is_file()
    assert meta["registry"].value.startswith("v1: champion")
    import mlflow

    version = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}").get_model_version_by_alias("mobility-gru-gp", "champion")
    assert version.tags["variant"] == "gp-eps1" and version.tags["privacy.mode"] == "gp"
    ledger = yaml.safe_load((root / "privacy_ledger.json").read_text())
    assert [e["mode"] for e in ledger["entries"]] == ["gp"]
