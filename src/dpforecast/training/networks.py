"""The recurrent forecasters as models: ``LSTM``, ``GRU``, ``BiLSTM`` and ``BiGRU``.

Each builds the pipeline's forecaster from the resolved parameters (its own units, epochs,
batch size and learning rate win), trains it with the loop, or with DP-SGD when the
parameters say ``privacy.mode: gp`` (planned, charged to the data set's ledger and fed
secret randomness before the first window is read), and predicts raw counts.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from dpforecast.config import ArchitectureParams, Params
from dpforecast.models.base import FitContext, FitSummary, Model, Windows
from dpforecast.models.forecaster import Forecaster
from dpforecast.models.store import load_forecaster, save_forecaster
from dpforecast.privacy.dp_sgd_accountant import DPSGDAccountant
from dpforecast.privacy.report import PrivacyReport
from dpforecast.training.build import build_model, private_options
from dpforecast.training.device import select_device
from dpforecast.training.dp_sgd import fit_private
from dpforecast.training.loop import fit, predict
from dpforecast.training.private_plan import PrivacyPlan, charge, plan_privacy, training_digest


class Network(Model):
    """One recurrent layer and a linear head (:class:`~dpforecast.models.forecaster.Forecaster`)."""

    architecture: ClassVar[str]
    trains_privately: ClassVar[bool] = True

    def __init__(self, units: int = 64, epochs: int | None = None, batch_size: int | None = None,
                 learning_rate: float | None = None, alias: str | None = None) -> None:
        super().__init__(alias)
        self.units, self.epochs, self.batch_size, self.learning_rate = units, epochs, batch_size, learning_rate
        self.module: Forecaster | None = None
        #: The DP-SGD guarantee of the last fit (None when the fit was not DP-SGD).
        self.privacy: PrivacyReport | None = None

    @property
    def default_name(self) -> str:  # type: ignore[override]
        return self.architecture

    def config(self) -> dict[str, Any]:
        return {**super().config(), "units": self.units, "epochs": self.epochs, "batch_size": self.batch_size,
                "learning_rate": self.learning_rate}

    def resolve(self, params: Params) -> Params:
        """``params`` with this network's own settings in its architecture's place."""
        arch = replace(params.architectures[self.architecture], units=self.units,
                       **{k: v for k, v in (("batch_size", self.batch_size), ("learning_rate", self.learning_rate))
                          if v is not None})
        train = params.train if self.epochs is None else replace(params.train, epochs=self.epochs)
        architectures: dict[str, ArchitectureParams] = {**params.architectures, self.architecture: arch}
        return replace(params, train=train, architectures=architectures)

    def fit(self, train: Windows, validation: Windows, context: FitContext) -> FitSummary:
        params, arch, seed = self.resolve(context.params), self.architecture, context.seed
        device = select_device(params.train.device)
        units, batch, lr = params.hyper(arch)
        data = (train.x, train.y)
        plan = None
        if params.privacy.mode == "gp":  # planned (and refused) before the first window is read
            plan = plan_privacy(params, arch, seed, len(train), batch, training_digest(*data), None, device.type)
        model, loop = build_model(params, arch, train.x, train.y, len(train.zones), seed)
        settings = {"architecture": arch, "units": units, "batch_size": batch, "learning_rate": lr,
                    "epochs": params.train.epochs, "seed": seed, "privacy": params.privacy.mode}
        for callback in context.callbacks:
            callback.on_fit_start(self.name, settings)

        spent = _spent_epsilon(params, plan) if plan is not None else None

        def on_epoch(epoch: int, row: dict[str, float]) -> None:
            if spent is not None:  # DP-SGD: steps and the budget spent on the unit, no private loss
                row = {**row, "privacy_epsilon_spent_rdp": spent(int(row["steps"]))}
            for callback in context.callbacks:
                callback.on_epoch_end(self.name, epoch, row)

        if plan is not None:
            # Charged before the first noisy step reads a window: a fit killed half-way has
            # spent its budget; the same run repeated (same ledger key) is not charged again.
            charge(plan, params, arch, context.data_version)
            result, _ = fit_private(model, data, loop, plan.noise_multiplier, plan.max_grad_norm, device,
                                    plan.stream(), on_epoch=on_epoch, progress=context.progress,
                                    **private_options(params))
            self.privacy = plan.report
        else:
            stop = (validation.x, validation.y) if len(validation) else None
            result = fit(model, data, stop, loop, device, on_epoch, context.progress)
            self.privacy = None
        self.module = model.cpu()
        return FitSummary(result.seconds, list(result.history), result.best_epoch, result.stopped_early)

    def predict(self, windows: Windows) -> np.ndarray:
        if self.module is None:
            raise ValueError(f"{self.name}: predict before fit")
        return predict(self.module, windows.x, select_device("cpu")).astype(np.float64)

    def save(self, folder: Path) -> None:
        if self.module is None:
            raise ValueError(f"{self.name}: save before fit")
        save_forecaster(self.module, folder)

    def load(self, folder: Path) -> None:
        self.module = load_forecaster(folder)


def _spent_epsilon(params: Params, plan: PrivacyPlan) -> Callable[[int], float]:
    """The epsilon a DP-SGD fit has spent on its unit after a number of steps (RDP: cheap
    enough to log every epoch; the final guarantee is the plan's report)."""
    sigma, report = plan.noise_multiplier, plan.report
    assert sigma is not None
    rdp = DPSGDAccountant("rdp", report.windows_per_unit, params.privacy_unit().sensitivity_per_window)

    def spent(steps: int) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # early steps sit at the RDP grid's end: no news
            return rdp.epsilon(sigma, report.sample_rate, steps, report.delta)
    return spent


class LSTM(Network):
    architecture = "lstm"


class GRU(Network):
    architecture = "gru"


class BiLSTM(Network):
    architecture = "bilstm"


class BiGRU(Network):
    architecture = "bigru"


NETWORKS: dict[str, type[Network]] = {cls.architecture: cls for cls in (LSTM, GRU, BiLSTM, BiGRU)}
