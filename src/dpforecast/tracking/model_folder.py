"""The model folder the registry, serving and bundles read: one writer for every trainer.

The ``train`` stage (on the feature files) and the experiments (on a forecast fitted in
memory, :meth:`dpforecast.api.forecast.DPForecast.holdout`) both write a trained network
here, so a variant registered from the Dagster UI is the same kind of folder as one
``dvc repro`` built: weights and ``model.json``, the data set's spec, the training curve,
the test errors, the privacy report, the intervals, and the MLflow model logged from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

from dpforecast.config import Params
from dpforecast.data.schema import TIMESTAMP
from dpforecast.features.windows import feature_columns
from dpforecast.lineage import code_digest
from dpforecast.models.base import FitSummary
from dpforecast.models.conformal import Intervals
from dpforecast.models.forecaster import Forecaster
from dpforecast.models.store import DATASET_SPEC, DESCRIPTION, INTERVALS, save_forecaster
from dpforecast.privacy.report import PrivacyReport
from dpforecast.runtime.io import atomic_dir, write_json
from dpforecast.tracking.training_run import Untracked


@dataclass(frozen=True)
class TrainedModel:
    """One trained architecture: its folder, what ``model.json`` describes, its test errors
    (raw targets; the data owner's, never covered by a guarantee) and its privacy report."""

    architecture: str
    seed: int
    folder: Path
    description: dict[str, Any]
    test: dict[str, Any]
    privacy: PrivacyReport

    @property
    def mlflow_run_id(self) -> str | None:
        return self.description.get("mlflow_run_id")

    @property
    def epochs_run(self) -> int:
        return int(self.description["epochs_run"])

    @property
    def best_epoch(self) -> int:
        return int(self.description["best_epoch"])

    @property
    def train_seconds(self) -> float:
        return float(self.description["train_seconds"])

    @property
    def device(self) -> str:
        return str(self.description["device"])

    @property
    def zones(self) -> list[str]:
        return list(self.description["zones"])


def flat_params(params: Params, arch: str) -> dict[str, Any]:
    """The parameters that shaped one model, flattened for MLflow."""
    units, batch, lr = params.hyper(arch)
    flat: dict[str, Any] = {"profile": params.profile, "dataset": params.dataset, "architecture": arch}
    for section in ("features", "split", "train"):
        for key, value in asdict(getattr(params, section)).items():
            flat[f"{section}.{key}"] = value
    flat["train.residual"] = params.residual()  # resolved: what the model is, not "auto"
    flat["train.residual_season"] = params.residual_season()
    flat["data.contiguous"] = params.data.contiguous
    flat["data.timezone"] = params.data_set.timezone
    flat["data.interval_minutes"] = params.data_set.interval_minutes
    privacy = asdict(params.privacy)
    for key in ("mode", "epsilon", "delta"):
        flat[f"privacy.{key}"] = privacy[key]
    for group in ("ip", "gp"):
        if params.privacy.mode == group:
            flat.update({f"privacy.{group}.{k}": v for k, v in privacy[group].items()})
    flat.update({"units": units, "batch_size": batch, "learning_rate": lr})
    return flat


def describe(params: Params, arch: str, seed: int, device: str, zones: list[str], summary: FitSummary,
             run_id: str | None, lineage: Mapping[str, str], report: PrivacyReport,
             features_md5: str | None = None) -> dict[str, Any]:
    """``model.json``'s description of a trained network (beside its ``spec``): what shaped it,
    how the fit went, its published lineage and guarantee. ``features_md5`` (the feature
    table it read, digested for a private run): with the parameters, whether ``models/`` is
    what DVC's ``train`` stage builds now (:mod:`dpforecast.stages.record`)."""
    digest = {} if features_md5 is None else {"features_md5": features_md5}
    return {
        "architecture": arch, "seed": seed, "device": device, "zones": zones,
        "features": feature_columns(zones, params.features.known_future),
        "dataset": params.data_set.summary(), "horizon": params.features.horizon, "scaling": params.features.scaling,
        "params": flat_params(params, arch), **digest, "code_md5": code_digest(), "best_epoch": summary.best_epoch,
        "epochs_run": len(summary.history), "stopped_early": summary.stopped_early,
        "train_seconds": round(summary.seconds, 3), "mlflow_run_id": run_id, "lineage": dict(lineage),
        "privacy": report.to_json(),
    }


def served_example(timestamps: pl.Series, window: int, zones: list[str]) -> pd.DataFrame:
    """An input example in the served format: the series' last ``window`` timestamps with
    zero counts. Never real counts: the example is stored in the artifact store beside
    the model, and a private model must not carry raw data with it."""
    tail = pl.DataFrame({TIMESTAMP: timestamps.tail(window)})
    return tail.select(pl.col(TIMESTAMP).dt.to_string("%Y-%m-%dT%H:%M:%S%:z"),
                       *(pl.lit(0, dtype=pl.Int64).alias(z) for z in zones)).to_pandas()


def write_model_folder(folder: Path, module: Forecaster, description: dict[str, Any], spec_path: str,
                       history: list[dict[str, float]], errors: Mapping[str, Any], report: PrivacyReport,
                       intervals: Intervals | None, summary: Mapping[str, float], tracker: Untracked,
                       example: Callable[[], pd.DataFrame]) -> dict[str, Any]:
    """Write ``folder`` whole (atomically) and log it through ``tracker`` (``summary``: the
    fit's seconds and best epoch); the description, with the logged model's URI if any."""
    with atomic_dir(folder) as tmp:
        save_forecaster(module.cpu(), tmp, description)
        # The data set's spec travels with the model: serving reads its layout and clock.
        (tmp / DATASET_SPEC).write_text(Path(spec_path).read_text())
        write_json(tmp / "history.json", history)
        write_json(tmp / "metrics.json", dict(errors))
        write_json(tmp / "privacy.json", report.to_json())
        if intervals is not None:
            write_json(tmp / INTERVALS, intervals.to_json())
        (tmp / "privacy.md").write_text(report.to_markdown())
        uri = tracker.finish(tmp, errors, intervals, summary, example, report)
        if uri is not None:
            description = {**description, "mlflow_model_uri": uri}
            write_json(tmp / DESCRIPTION, {"spec": module.spec.to_dict(), **description})
    return description
