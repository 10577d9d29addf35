"""Every forecaster's test scores in one shape: errors per zone and lead, skill, MASE, coverage.

A forecaster (model or baseline) is scored on the test windows it has a forecast for; a
seasonal baseline without its lag on some windows is scored on the others, and the
models' errors on those same windows are kept beside it so like is compared with like.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dpforecast.evaluation.metrics import errors_by_lead, forecast_errors
from dpforecast.models.conformal import Intervals, bounds_coverage, coverage


@dataclass(frozen=True)
class OwnIntervals:
    """A method's own intervals on the test windows (statsforecast's prediction intervals, a
    zero-shot model's quantiles), level -> ``(lower, upper)``: nothing calibrated them here.
    ``covered``: whether a privacy guarantee covers them (post-processing of a release)."""

    bounds: dict[float, tuple[np.ndarray, np.ndarray]]
    source: str
    covered: bool


def score(y_test: np.ndarray, forecast: np.ndarray, zones: list[str], scale: dict[str, float | None],
          intervals: Intervals | OwnIntervals | None = None, groups: np.ndarray | None = None) -> dict[str, Any]:
    """RMSE and MAE per zone and their mean, per lead, MASE per zone and its mean, the
    windows scored, and the intervals' coverage when the forecaster has intervals
    (conformal ones calibrated on a held-out block, or the method's own; per calendar group
    too, given the targets' ``groups`` ``(n, horizon)``)."""
    found = np.isfinite(forecast).all(axis=(1, 2))
    if not found.any():
        return {"windows": 0}
    y, f = y_test[found], forecast[found]
    errors = forecast_errors(y, f, zones)
    mase = {z: errors["mae"][z] / s if s else None for z, s in scale.items()}
    present = [v for v in mase.values() if v is not None]
    out: dict[str, Any] = {**errors, "by_lead": errors_by_lead(y, f), "windows": int(found.sum()),
                           "mase": {**mase, "mean": float(np.mean(present)) if present else None}}
    kept = None if groups is None else groups[found]
    if isinstance(intervals, OwnIntervals):
        out["coverage"] = bounds_coverage({level: (lo[found], hi[found]) for level, (lo, hi) in intervals.bounds.items()},
                                          y, kept)
        out["intervals"] = {"source": intervals.source, "covered_by_privacy_guarantee": intervals.covered,
                            "calibration_windows": None}
    elif intervals is not None:
        out["coverage"] = coverage(intervals, y, f, kept)
        out["intervals"] = {"source": intervals.source, "covered_by_privacy_guarantee": intervals.covered,
                            "calibration_windows": intervals.calibration_windows,
                            "calibration": "calendar_groups" if intervals.group_half_widths else "split"}
    if not found.all():
        out["scored_on"] = found
    return out


def skill(rmse: float, reference: float | None) -> float | None:
    """1 - RMSE / the reference's RMSE: positive when the forecaster beats the reference."""
    return 1.0 - rmse / reference if reference else None


def persistence_skill(scored: dict[str, Any], reference: float) -> float | None:
    """Skill over persistence on the same windows: ``reference`` (persistence on every
    window) unless the forecaster was scored on fewer (a seasonal baseline lacking lags)."""
    return skill(scored["rmse"]["mean"], scored.get("others_on_these_windows", {}).get("persistence", reference))


def like_for_like(scores: dict[str, dict[str, Any]], y_test: np.ndarray, forecasts: dict[str, np.ndarray],
                  zones: list[str]) -> None:
    """For each forecaster scored on fewer windows, every other's mean RMSE on those windows."""
    for name, s in scores.items():
        mask = s.pop("scored_on", None)
        if mask is not None:
            s["others_on_these_windows"] = {
                other: forecast_errors(y_test[mask], f[mask], zones)["rmse"]["mean"]
                for other, f in forecasts.items() if other != name and np.isfinite(f[mask]).all()}
