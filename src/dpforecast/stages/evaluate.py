"""Stage ``evaluate``: test-period scores of the baselines and every saved model, at every lead.

The baselines are persistence, seasonal naive and ridge, and the field's that
``evaluate.baselines`` names (statistical methods, a zero-shot model: their own intervals
are scored for coverage, their cost is in ``metrics/details.json``).

The models are loaded back from their saved folders (weights and intervals), so these
metrics also prove that what was saved reproduces what was trained. The metrics files are
laid out for ``dvc metrics show``: one file per measure (``metrics/rmse.json``,
``mae``, ``skill``, ``mase``, ``coverage_80``, ``coverage_95``, ``epsilon``, ``privacy``), each keyed by
forecaster with the data set and horizon beside, so the default view is a table of
measures against models. Per zone, per lead and every detail: ``metrics/per_zone.json``,
``metrics/details.json`` and ``plots/leads.json``; coverage per calendar group of the
target's day (weekday, weekend, holiday) beside the overall: ``metrics/coverage_groups.json``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from dpforecast.config import Params
from dpforecast.evaluation.baselines import (
    BASELINES,
    FieldForecast,
    baseline_forecasts,
    field_forecasts,
    in_sample_seasonal_mae,
)
from dpforecast.evaluation.plots import (
    fan_figure,
    forecast_figure,
    lead_figure,
    training_figure,
)
from dpforecast.evaluation.scores import OwnIntervals, like_for_like, persistence_skill, score, skill
from dpforecast.features.windows import target_groups, target_rows, window_arrays
from dpforecast.models.store import load_forecaster, load_intervals
from dpforecast.runtime.io import read_json, write_json
from dpforecast.runtime.paths import METRIC_FILES, Paths
from dpforecast.training.loop import predict
from dpforecast.training.private_plan import plan_privacy

# What ``metrics/details.json`` keeps of each model's privacy report.
PRIVACY_DETAILS = ("private", "mode", "mechanism", "epsilon", "delta", "unit", "unit_name", "accountant",
                   "noise_multiplier", "max_grad_norm", "sample_rate", "steps", "windows_per_unit", "sigma")


def evaluate(paths: Paths, params: Params, track: bool = True, lineage: dict[str, str] | None = None) -> dict[str, Any]:
    """Write the test metrics, per-lead curves and plots; log the baselines to MLflow.
    Returns every forecaster's scores (:func:`~dpforecast.evaluation.scores.score`) with
    its ``skill`` over persistence and its ``privacy`` summary."""
    table = pl.read_parquet(paths.feature_table)
    windows = pl.read_parquet(paths.windows)
    # Raw targets: in ``ip`` mode the table holds the noisy release, and the study scores
    # every model (and the baselines) against what really happened.
    targets = pl.read_parquet(paths.targets)
    zones = list(targets.columns)
    spec = params.data_set
    w, h = params.features.window, params.features.horizon
    x_test, y_test = window_arrays(table, windows, "test", w, h, zones, targets=targets)
    forecasts, ridge = baseline_forecasts(table, windows, w, h, zones, spec.interval_minutes)
    intervals: dict[str, Any] = {}
    histories: dict[str, list[dict[str, float]]] = {}
    privacy: dict[str, Any] = {name: "not private" for name in BASELINES}
    details: dict[str, Any] = {"ridge_alpha": ridge.alpha, "privacy": {}}
    field = field_forecasts(table, windows, w, h, zones, spec.interval_minutes, params.evaluate.baselines)
    guarantee = field_guarantee(paths, params)
    for name, fitted in field.items():
        forecasts[name] = fitted.forecast.mean
        intervals[name] = OwnIntervals(fitted.forecast.bounds, fitted.forecast.source, covered=guarantee is not None)
        privacy[name] = "not private" if guarantee is None else short_guarantee(guarantee)
        if guarantee is not None:
            details["privacy"][name] = {k: guarantee[k] for k in PRIVACY_DETAILS if guarantee.get(k) is not None}
    if field:
        details["field_baselines"] = field_details(field, params.privacy.mode)
    for arch in params.models():
        folder = paths.model_dir(arch)
        forecasts[arch] = predict(load_forecaster(folder), x_test, device="cpu")
        intervals[arch] = load_intervals(folder)
        histories[arch] = read_json(folder / "history.json")
        report = read_json(folder / "privacy.json")
        privacy[arch] = short_guarantee(report)
        details["privacy"][arch] = {k: report[k] for k in PRIVACY_DETAILS if report.get(k) is not None}
    # MASE's scale from the raw training counts (not the noisy release in ip mode), like the
    # errors it divides; under DP-SGD a statistic of private data, marked in details.json.
    raw = pl.concat([table.select("timestamp"), targets], how="horizontal")
    scale = in_sample_seasonal_mae(raw, windows, zones, spec.interval_minutes)
    groups = target_groups(table, windows.filter(pl.col("split") == "test"), h, spec.calendar)
    scores = {name: score(y_test, f, zones, scale, intervals.get(name), groups) for name, f in forecasts.items()}
    like_for_like(scores, y_test, forecasts, zones)
    reference = scores["persistence"]["rmse"]["mean"]
    for name, s in scores.items():
        s["privacy"] = privacy[name]
        if s["windows"] and name != "persistence":
            s["skill"] = persistence_skill(s, reference)
            s["skill_over"] = {b: skill(s["rmse"]["mean"], scores[b]["rmse"]["mean"]) for b in (*BASELINES, *field)
                               if b != name and scores[b]["windows"]}
    details["coverage_flags"] = coverage_flags(scores)
    write_metrics(paths, params, scores, details, scale)
    plot(paths, params, table, windows, y_test, forecasts, scores, intervals, histories, zones, groups)
    if track:
        log_baselines(paths, params, scores, lineage)
    return scores


#: What the field's baselines fit, per privacy mode, and so whether a guarantee covers them.
FIELD_FITS = {
    "none": "the raw counts (not private)",
    "ip": "the noisy release: their forecasts and intervals are post-processing, covered by its guarantee",
    "gp": "the raw counts beside DP-SGD: non-private baselines, covered by no guarantee",
}


def field_guarantee(paths: Paths, params: Params) -> dict[str, Any] | None:
    """The guarantee the field's baselines inherit: the release's under input perturbation
    (they fit it), none otherwise."""
    if params.privacy.mode != "ip":
        return None
    return plan_privacy(params, "baselines", 0, 0, 0, "", paths.release_metadata).report.to_json()


def field_details(field: dict[str, FieldForecast], mode: str) -> dict[str, Any]:
    """Per field baseline: what it fitted, its cost and what its fit chose."""
    return {name: {"fitted_on": FIELD_FITS[mode], "seconds": round(f.seconds, 2), "fit_seconds": round(f.summary.seconds, 2),
                   "intervals": f.forecast.source, **f.summary.details} for name, f in field.items()}


def short_guarantee(report: dict[str, Any]) -> str:
    """The guarantee in a table cell: ``ε 0.9995 per event (δ 1e-07)``, or ``not private``
    (the report's summary says the rest)."""
    if not report.get("private"):
        return "not private"
    unit = report.get("unit_name") or report["unit"]
    if report.get("epsilon") is None:
        return f"no finite ε per {unit}"
    text = f"ε {report['epsilon']:.4g} per {unit} (δ {report['delta']:g})"
    return text + ", not a data-level unit" if unit == "window" else text


#: What every score of the evaluate stage is computed on, and so who may see it.
INTERNAL_SCOPE = ("internal: scored on the raw test counts, which no privacy guarantee covers; publish a private "
                  "model's covered metrics with `dpforecast publish` (README, Privacy)")


def write_metrics(paths: Paths, params: Params, scores: dict[str, Any], details: dict[str, Any],
                  scale: dict[str, float | None]) -> None:
    """One small file per measure, and the per-zone, per-lead and detailed files."""
    tag = {"dataset": params.dataset, "horizon": params.features.horizon}
    scored = {n: s for n, s in scores.items() if s["windows"]}
    measures = {
        "rmse": {n: s["rmse"]["mean"] for n, s in scored.items()},
        "mae": {n: s["mae"]["mean"] for n, s in scored.items()},
        "skill": {n: s["skill"] for n, s in scored.items() if n != "persistence"},
        "mase": {n: s["mase"]["mean"] for n, s in scored.items()},
        "coverage_80": {n: s["coverage"]["80"]["coverage"] for n, s in scored.items() if "80" in s.get("coverage", {})},
        "coverage_95": {n: s["coverage"]["95"]["coverage"] for n, s in scored.items() if "95" in s.get("coverage", {})},
        # each model's epsilon on its unit (privacy.json says which unit and delta); null: not private
        "epsilon": {n: details["privacy"].get(n, {}).get("epsilon") for n in scores},
        "privacy": {n: s["privacy"] for n, s in scores.items()},
    }
    assert tuple(measures) == METRIC_FILES
    for name, values in measures.items():
        write_json(paths.metric(name), {**tag, **values})
    write_json(paths.per_zone, {n: {k: s[k] for k in ("rmse", "mae", "mase")} for n, s in scored.items()})
    write_json(paths.coverage_groups, {**tag, **coverage_by_group(scored)})
    minutes = params.data_set.interval_minutes
    write_json(paths.leads, {"leads": [
        {"lead": k + 1, "minutes": (k + 1) * minutes, **{n: s["by_lead"]["rmse"][k] for n, s in scored.items()}}
        for k in range(params.features.horizon)]})
    keep = ("windows", "by_lead", "coverage", "intervals", "skill_over", "others_on_these_windows")
    write_json(paths.details, {**tag, **details, "scope": INTERNAL_SCOPE, "mase_scale_seasonal_day_mae_in_sample": scale,
                               "mase_scale_source": "raw training counts: a statistic of the data no privacy "
                                                    "guarantee covers",
                               "forecasters": {n: {k: s[k] for k in keep if k in s} for n, s in scores.items()}})


def coverage_by_group(scores: dict[str, Any]) -> dict[str, Any]:
    """Per calibrated forecaster and level: the overall coverage, then each calendar group's."""
    return {name: {level: {"overall": c["coverage"], **{g: v["coverage"] for g, v in c.get("per_group", {}).items()}}
                   for level, c in s["coverage"].items()}
            for name, s in scores.items() if s.get("coverage")}


def plot(paths: Paths, params: Params, table: pl.DataFrame, windows: pl.DataFrame, y_test: np.ndarray,
         forecasts: dict[str, np.ndarray], scores: dict[str, Any], intervals: dict[str, Any],
         histories: dict[str, list[dict[str, float]]], zones: list[str], groups: np.ndarray) -> None:
    """The test period at ``evaluate.plot_lead``, the fan of the best model (with its
    intervals, if it has any) for the first test origin, the error-against-lead curve and
    the training curves."""
    spec = params.data_set
    names, minutes, h = spec.zone_names, spec.interval_minutes, params.features.horizon
    test = windows.filter(pl.col("split") == "test")
    lead = params.plot_lead()
    rows = target_rows(test, h)
    times = table["timestamp"].gather(rows[:, lead - 1]).to_list()
    text = "next-interval" if h == 1 else f"lead {lead} ({lead * minutes / 60:g} h ahead)"
    forecast_figure(times, y_test[:, lead - 1], {n: f[:, lead - 1] for n, f in forecasts.items()},
                    paths.plots_dir / "forecast.png", names, zones, text)
    # The best model with intervals; with none (DP-SGD, no validation block), the best model.
    calibrated = [n for n in params.models() if intervals.get(n) is not None] or params.models()
    best = min(calibrated, key=lambda n: scores[n]["rmse"]["mean"])
    start = int(test["start_row"][0])
    history = (table["timestamp"][start:start + params.features.window].to_list(),
               table.select(zones)[start:start + params.features.window].to_numpy())
    future = (table["timestamp"].gather(rows[0]).to_list(), y_test[0])
    bands = {} if intervals.get(best) is None else {
        level: (lo[0], hi[0]) for level, (lo, hi) in intervals[best].bounds(forecasts[best][:1], groups[:1]).items()}
    fan_figure(history, future, best, forecasts[best][0], bands, paths.plots_dir / "fan.png", names, zones)
    curves = {n: s["by_lead"]["rmse"] for n, s in scores.items() if s["windows"]}
    lead_figure([(k + 1) * minutes for k in range(h)], curves, paths.plots_dir / "leads.png")
    training_figure(histories, paths.plots_dir / "training_curves.png")


def log_baselines(paths: Paths, params: Params, scores: dict[str, Any], lineage: dict[str, str] | None) -> None:
    """One MLflow run per baseline, with the parameters and test metrics a model run has."""
    import mlflow

    from dpforecast.tracking.mlflow_tracking import configure, start_run

    configure(paths, params.tracking.experiment)
    for name in BASELINES:
        s = scores[name]
        if not s["windows"]:
            continue
        with start_run(name):
            mlflow.log_params({"architecture": name, "features.window": params.features.window,
                               "features.horizon": params.features.horizon, "profile": params.profile,
                               "dataset": params.dataset})
            mlflow.set_tags({**(lineage or {}), "model": name, "privacy": "none"})
            mlflow.log_metrics({f"test_{m}_{z}": v for m in ("rmse", "mae") for z, v in s[m].items()})
            mlflow.log_metrics({f"test_rmse_lead{k + 1}": v for k, v in enumerate(s["by_lead"]["rmse"])})
            mlflow.log_artifact(str(paths.plots_dir / "forecast.png"))


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def summary_table(scores: dict[str, Any]) -> str:
    """Forecaster -> test RMSE, MAE, skill over persistence, MASE, interval coverage and
    privacy, in Markdown (what the DVC stage prints and Dagster shows)."""
    lines = ["| forecaster | RMSE | MAE | skill | MASE | cover 80% | cover 95% | privacy |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, s in scores.items():
        if not s["windows"]:
            lines.append(f"| {name} | - | - | - | - | - | - | no test window has its lag |")
            continue
        cov = s.get("coverage", {})
        lines.append(
            f"| {name} | {s['rmse']['mean']:.1f} | {s['mae']['mean']:.1f} | {_cell(s.get('skill'), '+.3f')} | "
            f"{_cell(s['mase']['mean'], '.3f')} | {_cell(cov.get('80', {}).get('coverage'), '.3f')} | "
            f"{_cell(cov.get('95', {}).get('coverage'), '.3f')} | {s['privacy']} |")
    return "\n".join(lines)


#: Points of coverage a model's test intervals may be off their nominal level before it is flagged.
COVERAGE_TOLERANCE = 5.0


def coverage_flags(scores: dict[str, Any], tolerance: float = COVERAGE_TOLERANCE) -> list[str]:
    """One line per model and level whose test coverage is more than ``tolerance`` points
    from the nominal: its intervals were calibrated on a block the test period does not
    resemble (a holiday, a change of routine) and their level does not hold there."""
    flags = []
    for name, s in scores.items():
        for key, c in s.get("coverage", {}).items():
            off = (c["coverage"] - c["nominal"]) * 100
            if abs(off) > tolerance:
                side, reading = ("below", "they cover less") if off < 0 else ("above", "they are wider than needed")
                flags.append(f"coverage: {name}'s {key}% intervals covered {c['coverage']:.1%} of the test targets, "
                             f"{abs(off):.1f} points {side} nominal (more than {tolerance:g}): the test period is "
                             f"unlike the calibration block (a holiday? a change of routine?); do not read these "
                             f"intervals as {key}% there: {reading}")
    return flags


def lead_table(scores: dict[str, Any], interval_minutes: int, every: int = 1) -> str:
    """Test RMSE at each lead (every ``every``-th), forecasters as columns, in Markdown."""
    names = [n for n, s in scores.items() if s["windows"]]
    horizon = len(scores["persistence"]["by_lead"]["rmse"])
    leads = sorted({0, *range(every - 1, horizon, every), horizon - 1})
    lines = ["| lead | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for k in leads:
        cells = " | ".join(f"{scores[n]['by_lead']['rmse'][k]:.1f}" for n in names)
        lines.append(f"| {(k + 1) * interval_minutes / 60:g} h | {cells} |")
    return "\n".join(lines)


def coverage_table(scores: dict[str, Any]) -> str:
    """Each calibrated model's empirical coverage beside the nominal, its mean interval width
    and what it was calibrated on, in Markdown."""
    lines = ["| model | nominal | coverage | mean width | calibrated on |", "| --- | --- | --- | --- | --- |"]
    for name, s in scores.items():
        for key, c in s.get("coverage", {}).items():
            lines.append(f"| {name} | {key}% | {c['coverage'] * 100:.1f}% | {c['mean_width']:.0f} | "
                         f"{s['intervals']['source']} |")
    if len(lines) == 2:
        lines.append("| - | - | - | - | no model has intervals (no validation block) |")
    return "\n".join(lines)
