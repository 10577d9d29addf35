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

Group-conditional (Mondrian) calibration (Vovk et al. 2003; Vovk 2012) gives each calendar
group of the target's day (weekday, weekend, holiday) the quantile of its own residuals, so
the coverage holds within each group when residuals are exchangeable within it, rather than
only on average over a block of mostly weekdays. A group with fewer than ``min_windows``
residuals at a lead borrows its parent's half-width (a holiday the weekend's, the weekend
the pooled one): without its own residuals it has no guarantee of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dpforecast.data.holiday_calendar import GROUPS

LEVELS = (0.8, 0.95)
#: Whose half-width a calendar group with too few calibration residuals takes: a public
#: holiday's routines are a Sunday's; any other group falls back to the pooled one.
FALLBACK = {"holiday": "weekend"}


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
    """Half-widths ``(levels, horizon, zones)`` and where they were calibrated; with
    group-conditional calibration, each calendar group's own ``(levels, horizon, zones)``
    and its calibration residuals per lead."""

    levels: tuple[float, ...]
    half_widths: np.ndarray
    calibration_windows: int
    # What the residuals were computed against, in words (raw validation counts, the noisy
    # release), and whether the model's privacy guarantee covers the intervals too.
    source: str
    covered: bool
    group_half_widths: dict[str, np.ndarray] = field(default_factory=dict)
    group_windows: dict[str, list[int]] = field(default_factory=dict)

    def widths(self, groups: np.ndarray | None, n: int) -> np.ndarray:
        """``(levels, n, horizon, zones)`` half-widths of ``n`` windows whose targets are in
        calendar ``groups`` ``(n, horizon)``: the pooled ones without groups (or without
        group calibration), and for a target of no known group."""
        pooled = np.broadcast_to(self.half_widths[:, None], (len(self.levels), n, *self.half_widths.shape[1:]))
        if groups is None or not self.group_half_widths:
            return pooled
        names = list(self.group_half_widths)
        stack = np.stack([self.half_widths, *(self.group_half_widths[g] for g in names)])  # (1 + G, L, H, Z)
        lookup = {g: k + 1 for k, g in enumerate(names)}
        which = np.vectorize(lambda g: lookup.get(g, 0), otypes=[np.int64])(groups) if groups.size else \
            np.zeros(groups.shape, np.int64)
        leads = np.arange(groups.shape[1])[None, :]
        return np.moveaxis(stack[which, :, leads, :], 2, 0)  # (n, H, L, Z) -> (L, n, H, Z)

    def bounds(self, forecast: np.ndarray, groups: np.ndarray | None = None) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """``level -> (lower, upper)`` around ``forecast`` ``(n, horizon, zones)``, whose
        targets' calendar ``groups`` ``(n, horizon)`` pick group half-widths if there are any."""
        widths = self.widths(groups, len(forecast))
        return {level: (np.clip(forecast - q, 0.0, None), forecast + q)
                for level, q in zip(self.levels, widths, strict=True)}

    def to_json(self) -> dict[str, Any]:
        def plain(a: np.ndarray) -> list:
            return np.where(np.isnan(a), None, a).tolist()

        out = {"levels": list(self.levels), "half_widths": plain(self.half_widths),
               "calibration_windows": self.calibration_windows, "source": self.source, "covered": self.covered}
        if self.group_half_widths:
            out["groups"] = {g: {"half_widths": plain(w), "windows": self.group_windows[g]}
                             for g, w in self.group_half_widths.items()}
        return out

    @staticmethod
    def from_json(data: dict[str, Any]) -> Intervals:
        groups = data.get("groups", {})
        return Intervals(tuple(float(v) for v in data["levels"]), np.asarray(data["half_widths"], dtype=np.float64),
                         int(data["calibration_windows"]), str(data["source"]), bool(data["covered"]),
                         {g: np.asarray(v["half_widths"], dtype=np.float64) for g, v in groups.items()},
                         {g: [int(n) for n in v["windows"]] for g, v in groups.items()})


def calibrate(y_true: np.ndarray, y_pred: np.ndarray, source: str, covered: bool,
              levels: tuple[float, ...] = LEVELS) -> Intervals:
    """Half-widths from calibration targets and forecasts, both ``(n, horizon, zones)``."""
    if y_true.shape != y_pred.shape or y_true.ndim != 3:
        raise ValueError(f"shapes differ or are not (n, horizon, zones): {y_true.shape} vs {y_pred.shape}")
    residuals = np.abs(y_true.astype(np.float64) - np.clip(y_pred, 0, None))
    return Intervals(tuple(levels), conformal_quantiles(residuals, levels), len(y_true), source, covered)


def conformal_quantiles(residuals: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
    """``(levels, *rest)``: the ``ceil((n + 1) level)``-th smallest of the ``n`` residuals
    ``(n, *rest)`` along the first axis, NaN where ``n`` is too small for the level."""
    n = len(residuals)
    ordered = np.sort(residuals, axis=0)
    widths = []
    for level in levels:
        if not 0 < level < 1:
            raise ValueError(f"an interval level must be in (0, 1), got {level}")
        rank = math.ceil((n + 1) * level)
        widths.append(ordered[rank - 1] if rank <= n else np.full(residuals.shape[1:], np.nan))
    return np.stack(widths)


def calibrate_by_group(y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray, source: str, covered: bool,
                       min_windows: int, levels: tuple[float, ...] = LEVELS) -> Intervals:
    """:func:`calibrate`'s pooled half-widths, and each calendar group's (:data:`GROUPS`)
    from the residuals of its targets ``groups`` ``(n, horizon)``, lead by lead; a group
    with fewer than ``min_windows`` residuals at a lead (or too few for a level) takes its
    :data:`FALLBACK` group's half-width there, else the pooled one."""
    pooled = calibrate(y_true, y_pred, source, covered, levels)
    if groups.shape != y_true.shape[:2]:
        raise ValueError(f"groups {groups.shape} are not (n, horizon) of the targets {y_true.shape}")
    residuals = np.abs(y_true.astype(np.float64) - np.clip(y_pred, 0, None))
    widths: dict[str, np.ndarray] = {}
    counts: dict[str, list[int]] = {}
    for group in GROUPS:  # a fallback group comes before the groups that fall back to it
        parent = widths.get(FALLBACK.get(group, ""), pooled.half_widths)
        own = parent.copy()
        counts[group] = []
        for lead in range(y_true.shape[1]):
            mask = groups[:, lead] == group
            counts[group].append(int(mask.sum()))
            if mask.sum() >= min_windows:
                q = conformal_quantiles(residuals[mask, lead], levels)
                own[:, lead] = np.where(np.isnan(q), parent[:, lead], q)
        widths[group] = own
    return Intervals(pooled.levels, pooled.half_widths, pooled.calibration_windows, source, covered, widths, counts)


def coverage(intervals: Intervals, y_true: np.ndarray, y_pred: np.ndarray,
             groups: np.ndarray | None = None) -> dict[str, Any]:
    """Per nominal level: the share of test counts inside the interval, overall, per lead
    and per zone (lists), and the mean width; with the targets' calendar ``groups``
    ``(n, horizon)``, the share and the number of counts in each group present
    (``per_group``). A level with too few calibration residuals for some zone or lead has
    no interval there and is left out (never scored as 0%)."""
    return bounds_coverage(intervals.bounds(np.clip(y_pred, 0, None), groups), y_true, groups)


def bounds_coverage(bounds: dict[float, tuple[np.ndarray, np.ndarray]], y_true: np.ndarray,
                    groups: np.ndarray | None = None) -> dict[str, Any]:
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
        if groups is not None:
            out[f"{round(level * 100)}"]["per_group"] = {
                g: {"coverage": float(inside[groups == g].mean()), "counts": int(inside[groups == g].size)}
                for g in GROUPS if (groups == g).any()}
    return out


def interval_tags(intervals: Intervals | None) -> dict[str, str]:
    """What the served intervals are, on the version a consumer resolves: their source and
    whether the model's privacy guarantee covers them (``false`` under DP-SGD)."""
    if intervals is None:
        return {"intervals": "none"}
    return {"intervals": intervals.source, "intervals.covered_by_privacy_guarantee": str(intervals.covered).lower()}
