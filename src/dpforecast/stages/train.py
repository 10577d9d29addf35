"""Stage ``train``: fit one forecaster per selected architecture, save it, track it in MLflow."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from dpforecast.config import Params
from dpforecast.data.schema import TIMESTAMP
from dpforecast.evaluation.metrics import forecast_errors
from dpforecast.lineage import file_md5
from dpforecast.models.base import Callback, FitContext, Windows
from dpforecast.privacy.published_lineage import data_digest, published_lineage
from dpforecast.privacy.randomness import load_key
from dpforecast.runtime.faults import crash_point
from dpforecast.runtime.paths import Paths
from dpforecast.tracking.model_folder import TrainedModel, describe, flat_params, served_example, write_model_folder
from dpforecast.tracking.training_run import TrainingRun, Untracked
from dpforecast.training.device import select_device
from dpforecast.training.intervals import fit_calibrated
from dpforecast.training.networks import NETWORKS
from dpforecast.training.private_plan import plan_privacy


class _CrashPoints(Callback):
    """The kill tests' seam: a crash point after every epoch (inert unless a test arms it)."""

    def __init__(self, mode: str) -> None:
        self.where = f"train:{mode}"

    def on_epoch_end(self, model: str, epoch: int, metrics: Mapping[str, float]) -> None:
        crash_point(self.where)


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
    """Fit ``arch`` (:class:`~dpforecast.training.networks.Network`) on the feature files'
    windows, score it on the test block's raw targets, and write its folder."""
    seed = params.train.seed if seed is None else seed
    out_dir = out_dir or paths.model_dir(arch)
    table, targets, windows = (pl.read_parquet(p) for p in (paths.feature_table, paths.targets, paths.windows))
    w, h, minutes = params.features.window, params.features.horizon, params.data_set.interval_minutes
    zones = list(targets.columns)
    train, validation, noisy_test = (Windows.of(table, windows.filter(pl.col("split") == s), w, h, zones, minutes)
                                     for s in ("train", "validation", "test"))
    test = Windows.of(table, noisy_test.index, w, h, zones, minutes, targets=targets)
    device = select_device(params.train.device)
    private = params.privacy.mode != "none"
    key = load_key() if private else None
    charged_version = (lineage or {}).get("data.dvc_md5", "")  # the owner's ledger only
    lineage = published_lineage(dict(lineage or {}), private, key)
    features_md5 = data_digest(file_md5(paths.feature_table), private, key)
    # ip and none: the release's guarantee (or none) is known before the fit; DP-SGD plans in it.
    stated = plan_privacy(params, arch, seed, len(train), params.hyper(arch)[1], "", paths.release_metadata,
                          device.type).report if params.privacy.mode != "gp" else None
    network = NETWORKS[arch](units=params.architectures[arch].units)
    tracker = TrainingRun(paths, params.tracking.experiment, f"{arch}-seed{seed}", private) if track else Untracked()
    context = FitContext(params, seed, (tracker, _CrashPoints(params.privacy.mode)), progress, charged_version)
    try:
        tracker.start({**flat_params(params, arch), "seed": seed, "device": str(device)},
                      {**lineage, "model": arch, "privacy": params.privacy.mode})
        summary, intervals = fit_calibrated(network, train, validation, context)
        report = network.privacy if stated is None else stated
        assert network.module is not None and report is not None
        predictions = network.predict(test)
        errors = forecast_errors(test.y, predictions, zones)
        if params.privacy.mode == "ip":
            # The study scores IP models on raw targets; the error on the noisy ones too.
            errors["against_noisy_targets"] = forecast_errors(noisy_test.y, predictions, zones)
        description = describe(params, arch, seed, str(device), zones, summary, tracker.run_id, lineage, report,
                               features_md5)
        description = write_model_folder(
            out_dir, network.module, description, params.data_set.path, summary.history, errors, report, intervals,
            {"train_seconds": summary.seconds, "best_epoch": summary.best_epoch}, tracker,
            lambda: served_example(pl.read_parquet(paths.series, columns=[TIMESTAMP])[TIMESTAMP], w, zones))
        tracker.close()
    except BaseException:
        tracker.fail()
        raise
    return TrainedModel(arch, seed, out_dir, description, errors, report)


def train(paths: Paths, params: Params, lineage: dict[str, str] | None = None, progress: bool = True) -> list[TrainedModel]:
    """Train every architecture ``train.model`` selects."""
    return [train_one(paths, params, arch, lineage=lineage, progress=progress) for arch in params.models()]
