"""Train one network in memory on a validated series and write its model folder.

What study, variants and frontier train: :meth:`DPForecast.holdout_series` fits the
network on the series (releasing it first under input perturbation, planning and charging
DP-SGD before a step) and scores it on the protocol's test block; the folder is written
by the ``train`` stage's own writer, so a variant can be registered like a model
``dvc repro`` built. No stage runs again in a scratch folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from dpforecast.api.forecast import DPForecast
from dpforecast.api.holdout import Holdout
from dpforecast.config import Params
from dpforecast.data.schema import TIMESTAMP
from dpforecast.privacy.published_lineage import published_lineage
from dpforecast.privacy.randomness import load_key
from dpforecast.registry.scoring import test_targets
from dpforecast.runtime.paths import Paths
from dpforecast.tracking.model_folder import TrainedModel, describe, flat_params, served_example, write_model_folder
from dpforecast.tracking.training_run import TrainingRun, Untracked
from dpforecast.training.device import select_device
from dpforecast.training.networks import NETWORKS


def train_network(root: Path, params: Params, arch: str, seed: int, series: pl.DataFrame, folder: Path,
                  track: bool = True, lineage: Mapping[str, str] | None = None, progress: bool = False
                  ) -> tuple[TrainedModel, Holdout]:
    """Fit ``arch`` (``params``' units, epochs, batch size and learning rate) with ``seed`` on
    ``series``, score it on the test block, write ``folder`` (and, when ``track``, the MLflow
    run and logged model of the project's store under ``root``)."""
    network = NETWORKS[arch](units=params.architectures[arch].units)
    private = params.privacy.mode != "none"
    published = published_lineage(dict(lineage or {}), private, load_key() if private else None)
    device = select_device(params.train.device)
    tracker = TrainingRun(Paths(root), params.tracking.experiment, f"{arch}-seed{seed}", private) \
        if track else Untracked()
    forecast = DPForecast.from_params(params, [network], seed, callbacks=[tracker], progress=progress)
    try:
        tracker.start({**flat_params(params, arch), "seed": seed, "device": str(device)},
                      {**published, "model": arch, "privacy": params.privacy.mode})
        holdout = forecast.holdout_series(series)
        held = holdout[network.name]
        assert network.module is not None
        zones = list(forecast.zones)
        description = describe(params, arch, seed, str(device), zones, held.summary, tracker.run_id, published,
                               held.privacy)
        description = write_model_folder(
            folder, network.module, description, params.data_set.path, held.summary.history, held.metrics(),
            held.privacy, held.intervals, {"train_seconds": held.summary.seconds,
                                           "best_epoch": held.summary.best_epoch or 0},
            tracker, lambda: served_example(series[TIMESTAMP], params.features.window, zones))
        tracker.close()
    except BaseException:
        tracker.fail()
        raise
    return TrainedModel(arch, seed, folder, description, held.metrics(), held.privacy), holdout


def scoring_of(series: pl.DataFrame, holdout: Holdout, horizon: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The raw series and test targets a registered variant is scored on (the holdout's
    test windows, raw counts): what :func:`dpforecast.registry.publish.publish` compares."""
    raw = series.select(TIMESTAMP, *holdout.test.zones)
    return raw, test_targets(raw, holdout.test.index, horizon)
