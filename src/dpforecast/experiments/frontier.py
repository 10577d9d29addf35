"""Private variants side by side, and the privacy-utility frontier (error against epsilon) on one unit.

One architecture (BiGRU by default), both mechanisms on the same privacy unit (event, day,
week and person by default), several seeds; each point is a real private training whose
epsilon comes from its privacy report. A DP-SGD point on a unit that touches (nearly) every
training window (a person, here) is not trained: its guarantee is vacuous, and the
frontier says so instead of printing a number. Every training is charged to the data set's
ledger: a frontier on real data spends real budget, so run it on public data or against a
separate ledger (``DPFORECAST_HOME``), as BENCHMARKS.md does. DP-SGD points use ``features.scaling: log`` (a fitted scaler would
leak). Persistence, ridge and seasonal naive on the same test windows are the horizontal
lines a private model has to beat. Everything goes to ``metrics/frontier.json``,
``plots/frontier_<unit>.json`` (DVC plots), ``plots/frontier.png`` and one MLflow run.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from dpforecast.api.dataset import validated_series
from dpforecast.config import deep_merge, load_params
from dpforecast.evaluation.baselines import BASELINES, baseline_forecasts
from dpforecast.evaluation.metrics import forecast_errors
from dpforecast.evaluation.plots import plt, save_png
from dpforecast.experiments.variants import PrivacySetting, train_variant
from dpforecast.features.feature_set import build_feature_set
from dpforecast.features.windows import window_arrays
from dpforecast.runtime.io import read_json, write_json
from dpforecast.runtime.paths import Paths

EPSILONS = (0.1, 0.3, 1.0, 3.0, 10.0)
MODES = ("ip", "gp")
UNITS = ("event", "day", "week", "person")
SEEDS = (0, 1, 2)


def frontier(root: Path, model: str = "bigru", epsilons: tuple[float, ...] = EPSILONS,
             seeds: tuple[int, ...] = SEEDS, units: tuple[str, ...] = UNITS, profile: str = "default",
             extra: dict[str, Any] | None = None, modes: tuple[str, ...] = MODES) -> dict[str, Any]:
    """Train ``model`` under each of ``modes`` for every unit x epsilon x seed; write and return
    the frontier (``runs``: one row per training; ``points``: mean and spread over seeds) under
    the data set's key of ``metrics/frontier.json``."""
    params = load_params(root / "params.yaml", profile=profile, **(extra or {}))
    series = validated_series(params, root)  # validated once, in memory; every training fits it
    runs = []
    for unit in units:
        for mode in modes:
            vacuous = _vacuous(params, unit) if mode == "gp" else None
            for eps in epsilons:
                for seed in seeds:
                    if vacuous:
                        runs.append({"unit": unit, "mode": mode, "epsilon": eps, "seed": seed, "rmse": None,
                                     "mae": None, "guarantee": f"vacuous: {vacuous}", "delta": params.privacy.delta,
                                     "unit_description": unit})
                        continue
                    row = train_variant(root, model, PrivacySetting(mode, eps), seed, profile,
                                        deep_merge({"privacy": {"unit": unit}}, extra or {}),
                                        name=f"frontier-{params.dataset}-{unit}-{mode}-{eps:g}-seed{seed}",
                                        series=series)
                    runs.append({"unit": unit, **{k: row[k] for k in ("mode", "epsilon", "seed", "rmse", "mae",
                                                                      "guarantee")},
                                 "delta": row["report"]["delta"], "unit_description": row["report"]["unit"]})
    baselines = baseline_lines(root, profile, extra, series)
    path = root / "metrics" / "frontier.json"
    others = read_json(path).get("datasets", {}) if path.is_file() else {}
    # a narrower run (one unit, one epsilon) adds to the data set's frontier instead of replacing it
    done = {(r["unit"], r["mode"], r["epsilon"], r["seed"]) for r in runs}
    kept = [r for r in others.get(params.dataset, {}).get("runs", [])
            if (r["unit"], r["mode"], r["epsilon"], r["seed"]) not in done and others[params.dataset]["model"] == model]
    runs = kept + runs
    result = {"dataset": params.dataset, "model": model, "seeds": sorted({r["seed"] for r in runs}),
              "baselines": baselines, "points": summarise(runs), "runs": runs}
    write_json(path, {"datasets": {**others, params.dataset: result}})
    for unit in sorted({r["unit"] for r in runs}):
        write_json(root / "plots" / f"frontier_{params.dataset}_{unit}.json", plot_rows(result, unit))
    figure(result, root / "plots" / f"frontier_{params.dataset}.png")
    _track(root, result)
    return result


def _vacuous(params: Any, unit: str) -> str | None:
    """Why DP-SGD protects nothing on ``unit`` (it touches more windows than are accounted), or None."""
    from dpforecast.privacy.budget import MAX_ACCOUNTED_WINDOWS
    from dpforecast.privacy.unit_accounting import windows_per_unit

    sized = load_params(Path(params.data_set.path).parent.parent / "params.yaml", dataset=params.dataset,
                        privacy={"unit": unit}).privacy_unit()
    k = windows_per_unit(params.features.window, params.features.horizon, sized.intervals)
    if k <= MAX_ACCOUNTED_WINDOWS:
        return None
    return (f"one {unit} touches {k:,} training windows (every window of the series): DP-SGD bounds a unit only "
            f"by 2C per window it touches, so no noise that still trains gives a meaningful epsilon")


def baseline_lines(root: Path, profile: str = "default", extra: dict[str, Any] | None = None,
                   series: pl.DataFrame | None = None) -> dict[str, float | None]:
    """Persistence, ridge and seasonal naive mean RMSE on the frontier's test windows, from
    the raw (non-private) series validated in memory: what a private model must beat to be
    worth its noise."""
    over = deep_merge(extra or {}, {"privacy": {"mode": "none"}})
    params = load_params(root / "params.yaml", profile=profile, **over)
    series = validated_series(params, root) if series is None else series
    features = build_feature_set(series, series, params)
    table, windows, targets = features.table, features.windows, features.targets
    zones = list(targets.columns)
    w, h = params.features.window, params.features.horizon
    _, y = window_arrays(table, windows, "test", w, h, zones, targets=targets)
    forecasts, _ = baseline_forecasts(table, windows, w, h, zones, params.data_set.interval_minutes)
    scored = {n: forecast_errors(y[ok], f[ok], zones)["rmse"]["mean"] if (ok := np.isfinite(f).all(axis=(1, 2))).any()
              else None for n, f in forecasts.items()}
    return {name: scored[name] for name in BASELINES}


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean, standard deviation, min and max of the test mean RMSE over seeds, per unit, mode and epsilon."""
    groups: dict[tuple[str, str, float], list[dict[str, Any]]] = {}
    order = {u: i for i, u in enumerate(UNITS)}
    for r in sorted(runs, key=lambda r: (order.get(r["unit"], len(UNITS)), MODES.index(r["mode"]), r["epsilon"])):
        groups.setdefault((r["unit"], r["mode"], r["epsilon"]), []).append(r)
    points = []
    for (unit, mode, eps), rows in groups.items():
        if any(r["rmse"] is None for r in rows):
            points.append({"unit": unit, "mode": mode, "epsilon": eps, "delta": rows[0]["delta"], "rmse_mean": None,
                           "rmse_std": None, "rmse_min": None, "rmse_max": None, "seeds": [r["seed"] for r in rows],
                           "mae_mean": None, "unit_description": rows[0]["unit_description"],
                           "vacuous": rows[0]["guarantee"]})
            continue
        rmse = [r["rmse"] for r in rows]
        points.append({"unit": unit, "mode": mode, "epsilon": eps, "delta": rows[0]["delta"],
                       "rmse_mean": statistics.fmean(rmse),
                       "rmse_std": statistics.stdev(rmse) if len(rmse) > 1 else 0.0,
                       "rmse_min": min(rmse), "rmse_max": max(rmse), "seeds": [r["seed"] for r in rows],
                       "mae_mean": statistics.fmean(r["mae"] for r in rows),
                       "unit_description": rows[0]["unit_description"]})
    return points


def plot_rows(result: dict[str, Any], unit: str) -> list[dict[str, Any]]:
    """One row per epsilon for DVC plots: each mechanism's mean RMSE and the baselines' lines."""
    rows = []
    for eps in sorted({p["epsilon"] for p in result["points"] if p["unit"] == unit}):
        row: dict[str, Any] = {"epsilon": eps}
        for p in result["points"]:
            if p["unit"] == unit and p["epsilon"] == eps and p["rmse_mean"] is not None:
                row[p["mode"]] = p["rmse_mean"]
        row.update({b: v for b, v in result["baselines"].items() if v is not None})
        rows.append(row)
    return rows


def figure(result: dict[str, Any], out: Path) -> None:
    units = sorted({p["unit"] for p in result["points"]}, key=list(UNITS).index)
    fig, axes = plt.subplots(1, len(units), figsize=(6 * len(units), 4), squeeze=False, sharey=True)
    labels = {"ip": "input perturbation", "gp": "DP-SGD"}
    for ax, unit in zip(axes[0], units, strict=True):
        for mode in MODES:
            pts = sorted((p["epsilon"], p["rmse_mean"], p["rmse_min"], p["rmse_max"])
                         for p in result["points"]
                         if p["unit"] == unit and p["mode"] == mode and p["rmse_mean"] is not None)
            if pts:
                eps, mean, lo, hi = zip(*pts, strict=True)
                ax.errorbar(eps, mean, yerr=[[m - a for m, a in zip(mean, lo, strict=True)],
                                             [b - m for m, b in zip(mean, hi, strict=True)]],
                            fmt="o-", capsize=3, label=f"{labels[mode]} (mean, min-max over seeds)")
        for (name, value), style in zip(result["baselines"].items(), (":", "-.", "--", (0, (1, 3))), strict=False):
            if value is not None:
                ax.axhline(value, color="grey", linestyle=style, linewidth=1, label=f"{name} {value:.0f}")
        ax.set_xscale("log")
        ax.set_xlabel(f"epsilon per {unit} (delta {next(p['delta'] for p in result['points'] if p['unit'] == unit):g})")
        ax.set_title(f"unit: {unit}", fontsize=9)
    axes[0][0].set_ylabel("test mean RMSE (people)")
    axes[0][0].legend(fontsize=7)  # the first unit has both mechanisms (a person has no DP-SGD point)
    save_png(fig, out)


def _track(root: Path, result: dict[str, Any]) -> None:
    import mlflow

    from dpforecast.tracking.mlflow_tracking import configure, start_run

    configure(Paths(root), "dpforecast")
    with start_run("privacy-utility-frontier"):
        mlflow.log_dict(result, "frontier.json")
        for p in result["points"]:
            if p["rmse_mean"] is not None:
                mlflow.log_metric(f"rmse_{result['dataset']}_{p['unit']}_{p['mode']}_eps{p['epsilon']:g}",
                                  p["rmse_mean"])
        mlflow.log_artifact(str(root / "plots" / f"frontier_{result['dataset']}.png"))


def frontier_table(result: dict[str, Any]) -> str:
    """Markdown: per unit, each mechanism's mean (and min-max) RMSE over seeds at each epsilon."""
    lines = []
    for unit in dict.fromkeys(p["unit"] for p in result["points"]):
        points = [p for p in result["points"] if p["unit"] == unit]
        lines += [f"{result['dataset']}, unit: {points[0]['unit_description']} (δ = {points[0]['delta']:g}); "
                  f"seeds {result['seeds']}", "",
                  "| mechanism | epsilon | mean RMSE | min-max | std |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {p['mode']} | {p['epsilon']:g} | {p['rmse_mean']:.1f} | {p['rmse_min']:.1f}-{p['rmse_max']:.1f} "
                  f"| {p['rmse_std']:.1f} |" if p["rmse_mean"] is not None else
                  f"| {p['mode']} | {p['epsilon']:g} | - | - | - |" for p in points]
        lines += [f"{p['mode']} on this unit: {p['vacuous']}" for p in points if p.get("vacuous")][:1]
        lines += [""]
    lines.append("Baselines (same test windows, non-private): " + ", ".join(
        f"{k} {v:.1f}" for k, v in result["baselines"].items() if v is not None))
    return "\n".join(lines)


def variants(root: Path, model: str = "bigru", epsilon: float = 1.0, seed: int = 0) -> list[dict[str, Any]]:
    """One IP and one DP-SGD training of ``model`` at ``epsilon`` on params.yaml's privacy
    unit, beside the workspace's non-private one (``metrics/per_zone.json``): the main
    job's privacy table."""
    rows = []
    per_zone, privacy = root / "metrics" / "per_zone.json", root / "metrics" / "privacy.json"
    if per_zone.is_file() and privacy.is_file() and model in (done := read_json(per_zone)):
        rows.append({"mode": "none", "epsilon": None, "rmse": done[model]["rmse"]["mean"],
                     "mae": done[model]["mae"]["mean"], "guarantee": read_json(privacy)[model], "seed": seed})
    for mode in MODES:
        rows.append(train_variant(root, model, PrivacySetting(mode, epsilon), seed, name=f"variant-{mode}-{epsilon:g}",
                                  register=True))
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The main job's table: the unit stated once above it, each row's epsilon and delta on it."""
    private = [r for r in rows if r.get("report", {}).get("private")]
    units = {r["report"]["unit"] for r in private}
    head = [f"Privacy unit: {units.pop()}", ""] if len(units) == 1 else []
    lines = head + ["| mode | epsilon | delta | mean RMSE | mean MAE | guarantee |",
                    "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        report = r.get("report", {})
        eps = "-" if r["epsilon"] is None else f"{r['epsilon']:g}"
        delta = "-" if not report.get("private") else f"{report['delta']:g}"
        text = r["guarantee"] if not head or not report.get("private") else \
            f"ε = {report['epsilon']:.3g} ({report['accountant'] or report['mechanism']})"
        lines.append(f"| {r['mode']} | {eps} | {delta} | {r['rmse']:.1f} | {r['mae']:.1f} | {text} |")
    return "\n".join(lines)
