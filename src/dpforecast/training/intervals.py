"""Conformal intervals of a trained forecaster, and whether its privacy guarantee covers them.

``intervals.calibration: calendar_groups`` calibrates per calendar group of the target's day
on the same residuals: the groups are the spec's public calendar, so the intervals have the
privacy status split ones have (covered in ip mode, not covered under DP-SGD).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dpforecast.config import Params
from dpforecast.features.windows import target_groups
from dpforecast.models.base import FitContext, FitSummary, Model, Windows
from dpforecast.models.conformal import Intervals, calibrate, calibrate_by_group, validation_halves
from dpforecast.models.forecaster import Forecaster
from dpforecast.training.loop import predict

# What the calibration residuals are measured against, and whether the intervals inherit
# the model's guarantee: in ip mode the validation block is the noisy release (post-
# processing, covered); under DP-SGD it is the raw private block, read outside the
# accountant, so the intervals (only with privacy.gp.intervals) are a statistic of private
# data the guarantee does not cover.
CALIBRATION = {
    "none": ("second half of the validation block, raw counts", False),
    "ip": ("second half of the validation block of the noisy release (post-processing of the release)", True),
    "gp": ("second half of the validation block, raw counts: NOT covered by the DP-SGD guarantee", False),
}


def intervals_allowed(params: Params) -> bool:
    """Under DP-SGD intervals are a statistic the accountant does not charge: only with
    ``privacy.gp.intervals``, which accepts that (and marks them so)."""
    return params.privacy.mode != "gp" or params.privacy.gp.intervals


def calibrate_forecasts(y_val: np.ndarray, predictions: np.ndarray, params: Params,
                        groups: np.ndarray | None = None) -> Intervals | None:
    """Split conformal intervals from any model's forecasts of the calibration block (windows
    a model has no forecast for, NaN, are left out), per calendar group of the targets'
    ``groups`` ``(n, horizon)`` under ``intervals.calibration: calendar_groups``; None
    without a block or when :func:`intervals_allowed` says no."""
    finite = np.isfinite(predictions).all(axis=(1, 2))
    if not finite.any() or not intervals_allowed(params):
        return None
    source, covered = CALIBRATION[params.privacy.mode]
    if params.intervals.calibration == "calendar_groups":
        if groups is None:
            raise ValueError("intervals.calibration: calendar_groups needs the calibration targets' calendar groups")
        return calibrate_by_group(y_val[finite], predictions[finite], groups[finite], source, covered,
                                  params.intervals.min_group_windows)
    return calibrate(y_val[finite], predictions[finite], source, covered)


def calibrate_intervals(model: Forecaster, x_val: np.ndarray, y_val: np.ndarray, params: Params,
                        device: Any) -> Intervals | None:
    """Split conformal intervals from the validation block's residuals; None without a
    block, or under DP-SGD unless ``privacy.gp.intervals`` accepts an uncovered statistic."""
    if len(x_val) == 0:
        return None
    return calibrate_forecasts(y_val, predict(model, x_val, device), params)


def fit_calibrated(model: Model, train: Windows, validation: Windows, context: FitContext
                   ) -> tuple[FitSummary, Intervals | None]:
    """Fit ``model`` on ``train``, the first half of ``validation`` to stop or select, and
    calibrate its intervals on the second half (the ``train`` stage's protocol, for any model)."""
    stopping, calibration = validation_halves(len(validation), validation.horizon)
    summary = model.fit(train, validation.take(stopping), context)
    held = validation.take(calibration)
    if not len(held):
        return summary, None
    params = context.params
    groups = (target_groups(held.table, held.index, held.horizon, params.data_set.calendar)
              if params.intervals.calibration == "calendar_groups" else None)
    return summary, calibrate_forecasts(held.y, model.predict(held), params, groups)
