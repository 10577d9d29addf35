"""Split conformal prediction intervals, per zone and lead time.

The absolute residuals of a fitted model on a block it neither trained nor stopped on (the
second half of the validation block, :func:`validation_halves`) give, for each zone and lead, the half-width ``q``
such that ``[f - q, f + q]``
holds the truth with probability at least the nominal level when test residuals are
exchangeable with the calibration ones (Vovk et al. 2005; Angelopoulos & Bates 2021):
``q`` is the ``ceil((n + 1) level)``-th smallest of ``n`` residuals; with too few residuals
for the level there is no interval (NaN, served as empty). Lower bounds are clipped at zero (counts of people). Consecutive windows overlap,
so the residuals are not independent: the empirical coverage on the test period is
reported beside the nominal, never assumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

LEVELS = (0.8, 0.95)


def validation_halves(n: int, horizon: int) -> tuple[slice, slice]:
    """The validation block's windows (in time order) for early stopping and for calibration.

    Residuals on the windows that chose the epoch are optimistic (the epoch was picked for
    making them small), so they are not exchangeable with the test residuals: the first half
    stops training, the second half calibrates. The ``horizon - 1`` windows after the first
    half are dropped, so no calibration target was also an early-stopping target.
    """
    half = (n + 1) // 2
    return slice(0, half), slice(min(n, half + horizon - 1), n)


@dataclass(frozen=True)
class Intervals:
    """Half-widths ``(levels, horizon, zones)`` and where they were calibrated."""

    levels: tuple[float, ...]
    half_widths: np.ndarray
    calibration_windows: int
    # What the residuals were computed against, in words (raw validation counts, the noisy
    # release), and whether the model's privacy guarantee covers the intervals too.
    source: str
    covered: bool

    def bounds(self, forecast: np.ndarray) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """``level -> (lower, upper)`` around ``forecast`` ``(n, horizon, zones)``."""
        return {level: (np.clip(forecast - q, 0.0, None), forecast + q)
                for level, q in zip(self.levels, self.half_widths, strict=True)}

    def to_json(self) -> dict[str, Any]:
        return {"levels": list(self.levels), "half_widths": np.where(np.isnan(self.half_widths), None, self.half_widths).tolist(),
                "calibration_windows": self.calibration_windows, "source": self.source, "covered": self.covered}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Intervals:
        return Intervals(tuple(float(v) for v in data["levels"]), np.asarray(data["half_widths"], dtype=np.float64),
                         int(data["calibration_windows"]), str(data["source"]), bool(data["covered"]))


def calibrate(y_true: np.ndarray, y_pred: np.ndarray, source: str, covered: bool,
              levels: tuple[float, ...] = LEVELS) -> Intervals:
    """Half-widths from calibration targets and forecasts, both ``(n, horizon, zones)``."""
    if y_true.shape != y_pred.shape or y_true.ndim != 3:
        raise ValueError(f"shapes differ or are not (n, horizon, zones): {y_true.shape} vs {y_pred.shape}")
    n = len(y_true)
    residuals = np.sort(np.abs(y_true.astype(np.float64) - np.clip(y_pred, 0, None)), axis=0)
    widths = []
    for level in levels:
        if not 0 < level < 1:
            raise ValueError(f"an interval level must be in (0, 1), got {level}")
        rank = math.ceil((n + 1) * level)
        widths.append(residuals[rank - 1] if rank <= n else np.full(residuals.shape[1:], np.nan))
    return Intervals(tuple(levels), np.stack(widths), n, source, covered)


def coverage(intervals: Intervals, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """Per nominal level: the share of test counts inside the interval, overall, per lead
    and per zone (lists), and the mean width; a level with too few calibration residuals
    for some zone or lead has no interval there and is left out (never scored as 0%)."""
    return bounds_coverage(intervals.bounds(np.clip(y_pred, 0, None)), y_true)


def bounds_coverage(bounds: dict[float, tuple[np.ndarray, np.ndarray]], y_true: np.ndarray) -> dict[str, Any]:
    """:func:`coverage` of any intervals, level -> ``(lower, upper)`` shaped like ``y_true``
    (a level with a missing bound is left out)."""
    out: dict[str, Any] = {}
    for level, (lower, upper) in bounds.items():
        if not np.isfinite(upper).all():
            continue
        inside = (y_true >= lower) & (y_true <= upper)
        out[f"{round(level * 100)}"] = {
            "nominal": level,
            "coverage": float(inside.mean()),
            "per_lead": [float(v) for v in inside.mean(axis=(0, 2))],
            "per_zone": [float(v) for v in inside.mean(axis=(0, 1))],
            "mean_width": float(np.mean(upper - lower)),
        }
    return out


def interval_tags(intervals: Intervals | None) -> dict[str, str]:
    """What the served intervals are, on the version a consumer resolves: their source and
    whether the model's privacy guarantee covers them (``false`` under DP-SGD)."""
    if intervals is None:
        return {"intervals": "none"}
    return {"intervals": intervals.source, "intervals.covered_by_privacy_guarantee": str(intervals.covered).lower()}
