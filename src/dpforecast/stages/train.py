"""Stage ``train``: fit one forecaster per selected architecture, save it, track it in MLflow."""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl

from dpforecast.config import Params
from dpforecast.data.schema import TIMESTAMP
from dpforecast.evaluation.metrics import forecast_errors
from dpforecast.features.windows import feature_columns, window_arrays
from dpforecast.lineage import code_digest, file_md5
from dpforecast.models.conformal import validation_halves
from dpforecast.privacy.dp_sgd_accountant import DPSGDAccountant
from dpforecast.privacy.published_lineage import data_digest, published_lineage
from dpforecast.privacy.randomness import load_key
from dpforecast.runtime.faults import crash_point
from dpforecast.runtime.paths import Paths
from dpforecast.tracking.model_folder import TrainedModel, flat_params, served_example, write_model_folder
from dpforecast.tracking.training_run import TrainingRun, Untracked
from dpforecast.training.build import build_model, private_options
from dpforecast.training.device import select_device
from dpforecast.training.dp_sgd import fit_private
from dpforecast.training.intervals import calibrate_intervals
from dpforecast.training.loop import fit, predict
from dpforecast.training.private_plan import PrivacyPlan, charge, plan_privacy, training_digest


def _tracker(paths: Paths, params: Params, arch: str, seed: int, plan: PrivacyPlan, private: bool) -> TrainingRun:
    """The MLflow run of one training; under DP-SGD it logs the epsilon spent per step."""
    spent = None
    if plan.noise_multiplier is not None:  # DP-SGD: steps and the budget spent on the unit, no loss
        sigma, report = plan.noise_multiplier, plan.report
        rdp = DPSGDAccountant("rdp", report.windows_per_unit, params.privacy_unit().sensitivity_per_window)

        def spent(steps: int) -> float:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # early steps sit at the RDP grid's end: no news
                return rdp.epsilon(sigma, report.sample_rate, steps, report.delta)
    return TrainingRun(paths, params.tracking.experiment, f"{arch}-seed{seed}", private, spent)


def train_one(
    paths: Paths,
    params: Params,
    arch: str,
    out_dir: Path | None = None,
    seed: int | None = None,
    track: bool = True,
    progress: bool = True,
    lineage: dict[str, str] | None = None,
) -> TrainedModel:
    """Train ``arch`` and write its folder (weights, description, history, test metrics)."""
    seed = params.train.seed if seed is None else seed
    out_dir = out_dir or paths.model_dir(arch)
    table = pl.read_parquet(paths.feature_table)
    targets = pl.read_parquet(paths.targets)
    windows = pl.read_parquet(paths.windows)
    w, h = params.features.window, params.features.horizon
    zones = list(targets.columns)
    features = feature_columns(zones)
    x_train, y_train = window_arrays(table, windows, "train", w, h, zones)
    x_val, y_val = window_arrays(table, windows, "validation", w, h, zones)
    x_test, y_test = window_arrays(table, windows, "test", w, h, zones, targets=targets)
    stopping, calibration = validation_halves(len(x_val), h)
    units, batch, lr = params.hyper(arch)
    features_md5 = file_md5(paths.feature_table)
    device = select_device(params.train.device)
    plan = plan_privacy(params, arch, seed, len(x_train), batch, training_digest(x_train, y_train),
                        paths.release_metadata, device.type)
    model, loop = build_model(params, arch, x_train, y_train, len(zones), seed)
    private = params.privacy.mode != "none"
    key = load_key() if private else None
    charged_version = (lineage or {}).get("data.dvc_md5", "")  # the owner's ledger only
    lineage = published_lineage(dict(lineage or {}), private, key)
    features_md5 = data_digest(features_md5, private, key)
    tracker = _tracker(paths, params, arch, seed, plan, private) if track else Untracked()
    try:
        tracker.start({**flat_params(params, arch), "seed": seed, "device": str(device)},
                      {**lineage, "model": arch, "privacy": params.privacy.mode})
        def on_epoch(epoch: int, row: dict[str, float]) -> None:
            tracker.on_epoch_end(arch, epoch, row)
            crash_point(f"train:{params.privacy.mode}")

        if params.privacy.mode == "gp":
            # Charged before the first noisy step reads a window: a run killed half-way has
            # spent its budget; the same run repeated (same ledger key) is not charged again.
            charge(plan, params, arch, charged_version)
            result, _ = fit_private(model, (x_train, y_train), loop, plan.noise_multiplier, plan.max_grad_norm,
                                    device, plan.stream(), on_epoch=on_epoch, progress=progress,
                                    **private_options(params))
        else:
            stop = (x_val[stopping], y_val[stopping])
            result = fit(model, (x_train, y_train), stop if len(stop[0]) else None, loop, device, on_epoch, progress)
        predictions = predict(model, x_test, device)
        errors = forecast_errors(y_test, predictions, zones)
        intervals = calibrate_intervals(model, x_val[calibration], y_val[calibration], params, device)
        if params.privacy.mode == "ip":
            # The study scores IP models on raw targets; the error on the noisy ones too.
            _, y_noisy = window_arrays(table, windows, "test", w, h, zones)
            errors["against_noisy_targets"] = forecast_errors(y_noisy, predictions, zones)
        description = {
            "architecture": arch,
            "seed": seed,
            "device": str(device),
            "features": features,
            "zones": zones,
            "dataset": params.data_set.summary(),
            "horizon": params.features.horizon,
            "scaling": params.features.scaling,
            "params": flat_params(params, arch),
            # with params: is models/ what DVC's train stage builds now (dpforecast.stages.record)
            "features_md5": features_md5,
            "code_md5": code_digest(),
            "best_epoch": result.best_epoch,
            "epochs_run": len(result.history),
            "stopped_early": result.stopped_early,
            "train_seconds": round(result.seconds, 3),
            "mlflow_run_id": tracker.run_id,
            "lineage": lineage,
            "privacy": plan.report.to_json(),
        }
        description = write_model_folder(
            out_dir, model, description, params.data_set.path, result.history, errors, plan.report, intervals,
            {"train_seconds": result.seconds, "best_epoch": result.best_epoch}, tracker,
            lambda: served_example(pl.read_parquet(paths.series, columns=[TIMESTAMP])[TIMESTAMP], w, zones))
        tracker.close()
    except BaseException:
        tracker.fail()
        raise
    return TrainedModel(arch, seed, out_dir, description, errors, plan.report)


def train(paths: Paths, params: Params, lineage: dict[str, str] | None = None, progress: bool = True) -> list[TrainedModel]:
    """Train every architecture ``train.model`` selects."""
    return [train_one(paths, params, arch, lineage=lineage, progress=progress) for arch in params.models()]
