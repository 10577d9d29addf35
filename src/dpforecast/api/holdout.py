"""What :meth:`~dpforecast.api.forecast.DPForecast.holdout` returns: every model scored on the test block.

The pipeline's evaluation, in memory: the models are fitted on the days before the
protocol's test block and scored on its windows against the raw counts, as the
``train`` stage scores them. Those errors are the data owner's: computed on raw private
counts, no guarantee covers them, and under input perturbation the error against the
noisy release is given beside them (the figure a release's user could compute).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dpforecast.models.base import FitSummary, Windows
from dpforecast.models.conformal import Intervals
from dpforecast.privacy.report import PrivacyReport

Errors = dict[str, dict[str, float]]  # forecast_errors: {"rmse": {zone: .., "mean": ..}, "mae": {...}}


@dataclass(frozen=True)
class HeldOutScore:
    """One model on the test block: raw-count errors (None when it forecasts no test window
    whole), the error against the noisy release (input perturbation only), how the fit went,
    its intervals and its guarantee."""

    errors: Errors | None
    against_release: Errors | None
    summary: FitSummary
    intervals: Intervals | None
    privacy: PrivacyReport

    @property
    def rmse(self) -> float | None:
        return None if self.errors is None else self.errors["rmse"]["mean"]

    @property
    def mae(self) -> float | None:
        return None if self.errors is None else self.errors["mae"]["mean"]

    def metrics(self) -> dict[str, Any]:
        """The ``metrics.json`` document of a model folder: raw errors, and the release's under IP."""
        assert self.errors is not None
        return self.errors if self.against_release is None else {**self.errors,
                                                                 "against_noisy_targets": self.against_release}


@dataclass(frozen=True)
class Holdout:
    """Every model of a forecast scored on the same test windows (``test``: raw targets)."""

    test: Windows
    windows: dict[str, int]  # per split: train, validation, test
    scores: dict[str, HeldOutScore]

    def __getitem__(self, model: str) -> HeldOutScore:
        return self.scores[model]
