"""What known-future calendar inputs and calendar-group calibration change, before the test period.

Issue 20 (sections 2 and 5): on a span of days before each data set's test period (never the
test period itself), fit ridge and a GRU with and without ``features.known_future`` and
score them: MASE over zones and leads, and the coverage of their conformal intervals per
calendar group (weekday, weekend, holiday) with split and with group-conditional
(``calendar_groups``) calibration, both calibrated on the same residuals (the second half of
the validation block before the span). One backtest fold: the span is the fold's evaluation
block, the protocol's validation days before it, its history before that, as
:mod:`dpforecast.experiments.backtest` cuts them. Non-private; nothing is tracked.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/calendar_inputs.py --dataset auckland --until 2025-02-12 --days 56
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/calendar_inputs.py --dataset montreuil --days 21

``--until``: cut the series there first (its last ``test_days`` then play the test period,
cut off unread), so a span can cover an earlier holiday season. Writes
``artifacts/study/calendar-<dataset>/benchmark.json`` and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dpforecast.api.dataset import validated_series  # noqa: E402
from dpforecast.config import load_params  # noqa: E402
from dpforecast.data.schema import TIMESTAMP  # noqa: E402
from dpforecast.evaluation.baselines import baseline_forecasts, in_sample_seasonal_mae  # noqa: E402
from dpforecast.evaluation.scores import score  # noqa: E402
from dpforecast.experiments.backtest import fold_features, fold_params, plan_folds  # noqa: E402
from dpforecast.features.windows import target_groups  # noqa: E402
from dpforecast.models.base import FitContext, Model, Windows  # noqa: E402
from dpforecast.models.conformal import validation_halves  # noqa: E402
from dpforecast.models.ridge import Ridge  # noqa: E402
from dpforecast.runtime.io import write_json  # noqa: E402
from dpforecast.training.intervals import calibrate_forecasts  # noqa: E402
from dpforecast.training.networks import GRU  # noqa: E402

KNOWN_FUTURE = ["holidays", "day_of_week"]
CALIBRATIONS = ("split", "calendar_groups")


def run(dataset: str, profile: str, known_future: list[str], days: int, epochs: int, series: pl.DataFrame) -> dict[str, Any]:
    """One configuration: the span's scores of ridge, the GRU and the reference baselines."""
    params = load_params(ROOT / "params.yaml", dataset=dataset, profile=profile,
                         features={"known_future": known_future}, train={"epochs": epochs})
    _, [fold] = plan_folds(series, params, 1, days)
    inner = fold_params(params, days)
    features = fold_features(series, series, inner, fold.end)
    table, windows, zones = features.table, features.windows, list(features.targets.columns)
    w, h, minutes = inner.features.window, inner.features.horizon, inner.data_set.interval_minutes
    train, validation, test = (Windows.of(table, windows.filter(pl.col("split") == s), w, h, zones, minutes)
                               for s in ("train", "validation", "test"))
    calendar = inner.data_set.calendar
    test_groups = target_groups(table, test.index, h, calendar)
    scale = in_sample_seasonal_mae(table, windows, zones, minutes)
    baselines, _ = baseline_forecasts(table, windows, w, h, zones, minutes)
    out: dict[str, Any] = {"span": fold.to_json(), "windows": features.counts,
                           "test_targets_per_group": {g: int((test_groups[:, 0] == g).sum())
                                                      for g in ("weekday", "weekend", "holiday")},
                           "models": {}}
    for name in ("persistence", "seasonal_day"):
        out["models"][name] = {"mase": score(test.y, baselines[name], zones, scale)["mase"]["mean"]}
    stopping, calibration = validation_halves(len(validation), h)
    held = validation.take(calibration)
    held_groups = target_groups(table, held.index, h, calendar)
    out["calibration_targets_per_group"] = {g: int((held_groups[:, 0] == g).sum())
                                            for g in ("weekday", "weekend", "holiday")}
    models: list[Model] = [Ridge(), GRU(units=inner.architectures["gru"].units)]
    for model in models:
        began = time.perf_counter()
        model.fit(train, validation.take(stopping), FitContext(inner, inner.train.seed))
        forecast, held_forecast = model.predict(test), model.predict(held)
        row: dict[str, Any] = {"seconds": round(time.perf_counter() - began, 1),
                               "mase": score(test.y, forecast, zones, scale)["mase"]["mean"]}
        for calibration_name in CALIBRATIONS:
            chosen = replace(inner, intervals=replace(inner.intervals, calibration=calibration_name))
            intervals = calibrate_forecasts(held.y, held_forecast, chosen, held_groups)
            scored = score(test.y, forecast, zones, scale, intervals, test_groups)
            row[calibration_name] = {level: {"overall": c["coverage"], **{g: v["coverage"]
                                                                         for g, v in c["per_group"].items()}}
                                     for level, c in scored["coverage"].items()}
        out["models"][model.name] = row
    return out


def tables(results: dict[str, Any]) -> str:
    lines = ["| profile | known-future | model | MASE | calibration | 80% all / wkday / wkend / hol | "
             "95% all / wkday / wkend / hol |", "| --- |" * 1 + " --- |" * 6]
    for key, r in results.items():
        profile, inputs = key.split("|")
        for name, m in r["models"].items():
            if "split" not in m:
                lines.append(f"| {profile} | {inputs} | {name} | {m['mase']:.3f} | - | - | - |")
                continue
            for calibration in CALIBRATIONS:
                cells = []
                for level in ("80", "95"):
                    c = m[calibration].get(level, {})
                    cells.append(" / ".join(f"{c[g] * 100:.1f}" if g in c else "-"
                                            for g in ("overall", "weekday", "weekend", "holiday")))
                lines.append(f"| {profile} | {inputs} | {name} | {m['mase']:.3f} | {calibration} | {cells[0]} | "
                             f"{cells[1]} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="montreuil")
    parser.add_argument("--days", type=int, default=21, help="the span's days, ending where the test period begins")
    parser.add_argument("--until", default=None, help="cut the series before this local day first (YYYY-MM-DD)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--profiles", nargs="+", default=["default", "day-ahead"])
    args = parser.parse_args()
    params = load_params(ROOT / "params.yaml", dataset=args.dataset)
    series = validated_series(params, ROOT)
    if args.until:
        series = series.filter(pl.col(TIMESTAMP).dt.replace_time_zone(None) < datetime.fromisoformat(args.until))
    results: dict[str, Any] = {}
    for profile in args.profiles:
        for inputs in ([], KNOWN_FUTURE):
            key = f"{profile}|{'+'.join(inputs) or 'none'}"
            results[key] = run(args.dataset, profile, inputs, args.days, args.epochs, series)
            print(key, results[key]["span"], f"GRU {results[key]['models']['gru']['seconds']} s", flush=True)
    out = ROOT / "artifacts" / "study" / f"calendar-{args.dataset}" / "benchmark.json"
    write_json(out, {"dataset": args.dataset, "days": args.days, "until": args.until, "epochs": args.epochs,
                     "results": results})
    print(tables(results))


if __name__ == "__main__":
    main()
