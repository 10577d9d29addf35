"""Rolling-origin backtests before the test period: choose a model without reading the test block.

The project's test block (the last ``test_days`` of the protocol) is cut off the series
first. Fold k of n (oldest first) evaluates on the ``step_days`` days that end where fold
k+1's begin, the last ending where the test block begins. Each fold is the series cut at
the end of the fold's evaluation block, with that block as test set, the project's
validation days before it and its history before that: windows, scalers, early stopping
and conformal calibration see only the fold's past, and the block's own targets are only
scored. Everything runs in memory on the data set's series validated once, and in ``ip``
mode released once (cutting is post-processing), charged like the project's release.
Every fold scores the baselines too, the field's that ``evaluate.baselines`` names among
them, fitted on the fold's past. ``refit``: every model is trained on each fold's data;
otherwise once on fold 1's, and that model scores every fold. Writes
``metrics/backtest.json`` and ``reports/backtest.md``.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from dpforecast.api.dataset import validated_series
from dpforecast.api.release import release_once
from dpforecast.config import ARCHITECTURES, Params, load_params
from dpforecast.data.schema import TIMESTAMP
from dpforecast.errors import ConfigError
from dpforecast.evaluation.baselines import (
    baseline_forecasts,
    field_forecasts,
    in_sample_seasonal_mae,
)
from dpforecast.evaluation.scores import OwnIntervals, like_for_like, persistence_skill, score
from dpforecast.features.feature_set import FeatureSet, build_feature_set
from dpforecast.features.windows import split_starts, target_groups
from dpforecast.models.base import FitContext, Windows
from dpforecast.models.conformal import Intervals
from dpforecast.runtime.io import write_json, write_text
from dpforecast.training.intervals import fit_calibrated
from dpforecast.training.networks import NETWORKS, Network

MEASURES = ("rmse", "mae", "skill", "mase", "coverage_80", "coverage_95")

# What the fold scores are, per privacy mode, and whether a privacy guarantee covers them
# (None: there is no guarantee to cover them).
SCOPE: dict[str, tuple[str, bool | None]] = {
    "none": ("not private: models and baselines fitted and scored on the raw series", None),
    "ip": ("models trained and scored on the noisy release (cuts of one release, charged like the project's): "
           "the scores and the selection are post-processing of the release, covered by its guarantee", True),
    "gp": ("every fold training is a DP-SGD training charged to the privacy ledger; the fold scores are "
           "computed on the raw private counts outside any accountant: NOT covered by the DP-SGD guarantee", False),
}
ONE_BACKTEST_RELEASE = ("one release of the series before the backtest's folds, noised in memory and charged to the "
                        "data set's ledger before any count was read; every fold is a cut of it")
GP_NOTE = ("nothing is selected on private folds: under DP-SGD the fold scores are statistics of the raw private "
           "series that no accountant charged, and a statistic of private data never leaves a private run "
           "unaccounted; the scores are reported for inspection only, not covered by the privacy guarantee")


@dataclass(frozen=True)
class Fold:
    number: int
    start: datetime  # local midnight of the first evaluated day
    end: datetime  # local midnight after the last evaluated day: the fold's series stops here

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.date().isoformat(), "end": (self.end.date() - timedelta(days=1)).isoformat()}


def shift_days(midnight: datetime, days: int) -> datetime:
    """The local midnight ``days`` days from ``midnight`` (rebuilt through its zone, as
    :func:`~dpforecast.features.windows.split_starts` does, so a change of time keeps it)."""
    return (midnight.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=midnight.tzinfo)


def plan_folds(series: pl.DataFrame, params: Params, folds: int, step_days: int) -> tuple[datetime, list[Fold]]:
    """Where the test block starts, and the folds' evaluation blocks before it, oldest first.

    Refuses a plan whose folds and the training they need run past the series' start, or
    a fold ending after a day with no row (its block would not be ``step_days`` long)."""
    if folds < 1 or step_days < 1:
        raise ValueError(f"backtest: folds ({folds}) and step_days ({step_days}) must be at least 1")
    test_days, validation_days, history_days = params.protocol()
    _, test_start = split_starts(series, test_days, validation_days)
    available = (test_start.date() - series[TIMESTAMP].min().date()).days
    needed = folds * step_days + validation_days + (history_days or 1)
    if needed > available:
        raise ValueError(
            f"backtest: {folds} folds x {step_days} days + {validation_days} validation days + "
            f"{history_days or 1} training day(s) = {needed} days before the test period (from {test_start.date()}), "
            f"but the series has {available}")
    ends = [shift_days(test_start, -(folds - k) * step_days) for k in range(1, folds + 1)]
    plan = [Fold(k, shift_days(end, -step_days), end) for k, end in enumerate(ends, start=1)]
    for fold in plan:
        _, start = split_starts(series.filter(pl.col(TIMESTAMP) < fold.end), step_days, validation_days)
        if start != fold.start:
            raise ValueError(f"backtest: fold {fold.number} would end on {fold.to_json()['end']}, a day the series "
                             f"has no row for; choose another step_days or number of folds")
    return test_start, plan


def fold_params(params: Params, step_days: int) -> Params:
    """The protocol of a fold's workspace: its evaluation block as test set, the project's
    validation and history days before it."""
    _, validation_days, history_days = params.protocol()
    return replace(params, split=replace(params.split, test_days=step_days, validation_days=validation_days,
                                         history_days=history_days or 0))


@dataclass(frozen=True)
class FittedNetwork:
    """A network fitted on one fold: the zones it models and its calibrated intervals."""

    model: Network
    zones: list[str]
    intervals: Intervals | None


def fold_features(raw: pl.DataFrame, released: pl.DataFrame, params: Params, until: datetime) -> FeatureSet:
    """The features of the rows before ``until``: the release's counts to train on, the raw as targets."""
    def cut(series: pl.DataFrame) -> pl.DataFrame:
        return series.filter(pl.col(TIMESTAMP) < until)

    return build_feature_set(cut(raw), cut(released), params)


def fit_networks(features: FeatureSet, params: Params, archs: tuple[str, ...], progress: bool) -> dict[str, FittedNetwork]:
    """Each architecture fitted (``train.seed``) on the fold's training windows, stopped and
    calibrated on its validation block, as the ``train`` stage does."""
    zones = list(features.targets.columns)
    w, h, minutes = params.features.window, params.features.horizon, params.data_set.interval_minutes
    train, validation = (Windows.of(features.table, features.windows.filter(pl.col("split") == s), w, h, zones,
                                    minutes) for s in ("train", "validation"))
    context = FitContext(params, params.train.seed, progress=progress)
    fitted = {}
    for arch in archs:
        model = NETWORKS[arch](units=params.architectures[arch].units)
        _, intervals = fit_calibrated(model, train, validation, context)
        fitted[arch] = FittedNetwork(model, zones, intervals)
    return fitted


def selected_models(params: Params, models: tuple[str, ...] | None) -> tuple[str, ...]:
    """``models``, or the architectures ``train.model`` selects; an unknown name is refused."""
    chosen = tuple(models) if models else tuple(params.models())
    unknown = [m for m in chosen if m not in ARCHITECTURES]
    if unknown:
        raise ConfigError(f"backtest: unknown model(s) {unknown}; use {ARCHITECTURES}")
    return chosen


def score_fold(features: FeatureSet, params: Params, fitted: dict[str, FittedNetwork]) -> dict[str, dict[str, Any]]:
    """Every baseline's and model's means on the fold's evaluation windows: against the raw
    counts, or in ``ip`` mode against the noisy release, so that choosing on the folds reads
    nothing the release's guarantee does not cover."""
    table, windows, targets = features.table, features.windows, features.targets
    zones = list(targets.columns)
    w, h, minutes = params.features.window, params.features.horizon, params.data_set.interval_minutes
    raw = targets if params.privacy.mode != "ip" else None  # None: the table's (noisy) counts
    test = Windows.of(table, windows.filter(pl.col("split") == "test"), w, h, zones, minutes, targets=raw)
    forecasts, _ = baseline_forecasts(table, windows, w, h, zones, minutes)
    intervals: dict[str, Any] = {}
    for name, field in field_forecasts(table, windows, w, h, zones, minutes, params.evaluate.baselines).items():
        forecasts[name] = field.forecast.mean  # the field's baselines, fitted on the fold's past like the models
        intervals[name] = OwnIntervals(field.forecast.bounds, field.forecast.source, params.privacy.mode == "ip")
    for arch, network in fitted.items():
        if network.zones != zones:
            raise ValueError(f"backtest: {arch} models zones {network.zones}, the fold has {zones}")
        forecasts[arch] = network.model.predict(test)
        intervals[arch] = network.intervals
    scale = in_sample_seasonal_mae(table, windows, zones, minutes)
    groups = target_groups(table, test.index, h, params.data_set.calendar)
    scores = {name: score(test.y, f, zones, scale, intervals.get(name), groups) for name, f in forecasts.items()}
    like_for_like(scores, test.y, forecasts, zones)
    reference = scores["persistence"]["rmse"]["mean"]
    return {name: fold_summary(s, None if name == "persistence" else reference) for name, s in scores.items()}


def fold_summary(s: dict[str, Any], reference: float | None) -> dict[str, Any]:
    """One forecaster's fold: windows scored and the mean over zones of each measure."""
    if not s["windows"]:
        return {"windows": 0}
    cover = s.get("coverage", {})
    return {"windows": s["windows"], "rmse": s["rmse"]["mean"], "mae": s["mae"]["mean"], "mase": s["mase"]["mean"],
            "skill": persistence_skill(s, reference) if reference is not None else None,
            "coverage_80": cover.get("80", {}).get("coverage"), "coverage_95": cover.get("95", {}).get("coverage"),
            "coverage_groups": {level: c.get("per_group", {}) for level, c in cover.items()}}


def mean_over_folds(folds: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per forecaster, the folds it was scored on and each measure's mean over them."""
    out = {}
    for name in dict.fromkeys(n for f in folds for n in f["scores"]):
        scored = [f["scores"][name] for f in folds if f["scores"].get(name, {}).get("windows")]
        means = {m: statistics.fmean(v) if (v := [s[m] for s in scored if s.get(m) is not None]) else None
                 for m in MEASURES}
        out[name] = {"folds": len(scored), **means, "coverage_groups": pooled_group_coverage(scored)}
    return out


def pooled_group_coverage(scored: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per level and calendar group, the share of the folds' counts inside the interval (a
    group seen in one fold weighs what it holds, not a fold's share)."""
    inside: dict[str, dict[str, list[float]]] = {}
    for s in scored:
        for level, groups in s.get("coverage_groups", {}).items():
            for g, c in groups.items():
                total = inside.setdefault(level, {}).setdefault(g, [0.0, 0.0])
                total[0] += c["coverage"] * c["counts"]
                total[1] += c["counts"]
    return {level: {g: hits / n for g, (hits, n) in groups.items()} for level, groups in inside.items()}


def rank(means: dict[str, dict[str, Any]], folds: int) -> list[str]:
    """Forecasters scored on every fold, by mean fold RMSE (best first)."""
    return sorted((n for n, m in means.items() if m["folds"] == folds), key=lambda n: means[n]["rmse"])


def select(ranking: list[str], means: dict[str, dict[str, Any]], models: tuple[str, ...], mode: str,
           span: str) -> tuple[str | None, str]:
    """The model with the lowest mean fold RMSE and why, or None under DP-SGD."""
    if mode == "gp":
        return None, GP_NOTE
    best = next((n for n in ranking if n in models), None)
    if best is None:
        return None, "no model was scored on every fold"
    beaten = [b for b in ranking[:ranking.index(best)] if b not in models]
    note = (f"{best}: lowest mean fold RMSE of the models ({means[best]['rmse']:.1f}) over the folds {span}; "
            f"the test period was not read")
    return best, note + (f" (beaten by the baseline(s) {', '.join(beaten)})" if beaten else "")


def backtest(
    root: Path, folds: int = 3, step_days: int = 7, refit: bool = True, models: tuple[str, ...] | None = None,
    overrides: dict[str, Any] | None = None, progress: bool = False, name: str = "backtest",
    series: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """Run the folds (``overrides``, nested as in params.yaml, may name a ``profile``);
    write and return per-fold and mean scores, the ranking and the selected model. ``name``
    keeps candidates apart when choosing hyper-parameters: ``metrics/<name>.json``,
    ``reports/<name>.md``. ``series``: the data set's validated series (default: its files
    under ``root``, validated in memory)."""
    began = time.perf_counter()
    params = load_params(root / "params.yaml", **(overrides or {}))
    archs = selected_models(params, models)
    raw = validated_series(params, root) if series is None else series
    test_start, plan = plan_folds(raw, params, folds, step_days)
    # One release for every fold (ip), charged before a count is read: cutting it is post-processing.
    released = release_once(params, raw, ONE_BACKTEST_RELEASE)[0] if params.privacy.mode == "ip" else raw
    inner = fold_params(params, step_days)
    rows: list[dict[str, Any]] = []
    fitted: dict[str, FittedNetwork] = {}
    trained_on, trainings = 0, 0
    for fold in plan:
        features = fold_features(raw, released, inner, fold.end)
        if refit or not fitted:
            fitted, trained_on = fit_networks(features, inner, archs, progress), fold.number
            trainings += len(archs)
        rows.append({"fold": fold.number, "evaluation": fold.to_json(), "windows": features.counts,
                     "trained_on_fold": trained_on, "scores": score_fold(features, inner, fitted)})
    means = mean_over_folds(rows)
    ranking = rank(means, len(rows))
    span = f"{rows[0]['evaluation']['start']} to {rows[-1]['evaluation']['end']}"
    chosen, note = select(ranking, means, archs, params.privacy.mode, span)
    scope, covered = SCOPE[params.privacy.mode]
    result = {
        "dataset": params.dataset, "profile": params.profile, "horizon": params.features.horizon,
        "window": params.features.window, "models": list(archs), "refit": refit, "step_days": step_days,
        "hyper": {a: dict(zip(("units", "batch_size", "learning_rate"), inner.hyper(a), strict=True)) for a in archs},
        "test_start": test_start.date().isoformat(),
        "protocol": {"validation_days": inner.split.validation_days, "history_days": inner.split.history_days or None},
        "privacy": {"mode": params.privacy.mode, "scores": scope, "covered_by_privacy_guarantee": covered},
        "folds": rows, "mean": means, "ranking": ranking, "selected": chosen, "selection_note": note,
        "trainings": trainings, "seconds": round(time.perf_counter() - began, 1), "overrides": overrides or {},
    }
    write_json(root / "metrics" / f"{name}.json", result)
    write_text(root / "reports" / f"{name}.md", backtest_report(result))
    return result


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None or not np.isfinite(value) else format(value, fmt)


def backtest_table(result: dict[str, Any]) -> str:
    """Markdown: forecaster x fold RMSE, then the means over folds."""
    heads = [f"fold {f['fold']} ({f['evaluation']['start']}..{f['evaluation']['end'][5:]})" for f in result["folds"]]
    lines = ["| forecaster | " + " | ".join(heads) + " | mean RMSE | mean MAE | skill | MASE | cover 80% | cover 95% |",
             "| --- |" + " --- |" * (len(heads) + 6)]
    order = result["ranking"] + [n for n in result["mean"] if n not in result["ranking"]]
    for name in order:
        m = result["mean"][name]
        folds = " | ".join(_cell(f["scores"].get(name, {}).get("rmse"), ".1f") for f in result["folds"])
        lines.append(f"| {name} | {folds} | {_cell(m['rmse'], '.1f')} | {_cell(m['mae'], '.1f')} | "
                     f"{_cell(m['skill'], '+.3f')} | {_cell(m['mase'], '.3f')} | {_cell(m['coverage_80'], '.3f')} | "
                     f"{_cell(m['coverage_95'], '.3f')} |")
    return "\n".join(lines)


def backtest_report(result: dict[str, Any]) -> str:
    """``reports/backtest.md``: what was run, the table, the selection and the data it used."""
    refit = ("every model trained on each fold's own data" if result["refit"] else
             "every model trained once, on fold 1's data, and scored on every fold")
    history = result["protocol"]["history_days"]
    return "\n".join([
        f"# Backtest: {len(result['folds'])} folds of {result['step_days']} days before the test period",
        "",
        f"Data set {result['dataset']}, profile {result['profile']}, window {result['window']}, horizon "
        f"{result['horizon']}; {refit} ({result['trainings']} trainings, {result['seconds']:.0f} s). Each fold "
        f"trains on the days before its {result['protocol']['validation_days']}-day validation block "
        f"({'all of them' if history is None else f'the last {history}'}); the test period (from "
        f"{result['test_start']}) is cut off first and never read. RMSE, MAE and MASE: means over zones and "
        f"leads on {'the noisy release' if result['privacy']['mode'] == 'ip' else 'raw counts'}; skill: over "
        "persistence; every column after the folds is a mean over folds.",
        "",
        backtest_table(result),
        "",
        f"Selected: {result['selected'] or 'none'}. {result['selection_note']}.",
        "",
        f"Privacy ({result['privacy']['mode']}): {result['privacy']['scores']}.",
        "",
    ])
