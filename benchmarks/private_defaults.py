"""Choose DP-SGD's defaults on another data set than the one they will protect.

Issue 9: private defaults (optimiser, learning rate, clipping norm, batch, epochs, model
size) must not be chosen by looking at the private data set's test or validation windows.
This script trains DP-SGD BiGRUs on ``--dataset`` (Auckland by default, not Montreuil) and
scores each on that data set's *validation* block against persistence on the same windows;
Montreuil is never read. Each run is a private training, planned and charged to the
privacy ledger like any other.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/private_defaults.py --epsilon 1 --configs base sgd-0.1
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/private_defaults.py --list

Results accumulate in ``artifacts/study/defaults-<dataset>/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dpforecast.config import deep_merge, load_params  # noqa: E402
from dpforecast.evaluation.metrics import forecast_errors  # noqa: E402
from dpforecast.features.windows import window_arrays  # noqa: E402
from dpforecast.models.persistence import persistence_forecast  # noqa: E402
from dpforecast.runtime.paths import Paths  # noqa: E402
from dpforecast.stages.workspace import build_workspace  # noqa: E402
from dpforecast.training.build import build_model, private_options  # noqa: E402
from dpforecast.training.device import select_device  # noqa: E402
from dpforecast.training.dp_sgd import fit_private  # noqa: E402
from dpforecast.training.loop import predict  # noqa: E402
from dpforecast.training.private_plan import charge, plan_privacy, training_digest  # noqa: E402

# Each config: overrides of params.yaml (on top of gp, log scaling, residual on).
CONFIGS: dict[str, dict[str, Any]] = {
    "base": {},
    "adam-lr1e-3": {"train": {"learning_rate": 1e-3}},
    "adam_bc": {"privacy": {"gp": {"optimizer": "adam_bc"}}},
    "sgd-0.1": {"privacy": {"gp": {"optimizer": "sgd"}}, "train": {"learning_rate": 0.1}},
    "sgd-0.5": {"privacy": {"gp": {"optimizer": "sgd"}}, "train": {"learning_rate": 0.5}},
    "sgd-2": {"privacy": {"gp": {"optimizer": "sgd"}}, "train": {"learning_rate": 2.0}},
    "ema": {"privacy": {"gp": {"ema": 0.99}}},
    "clip0.1": {"privacy": {"gp": {"max_grad_norm": 0.1}}},
    "units16": {"architectures": {"bigru": {"units": 16}}},
    "batch256": {"train": {"batch_size": 256, "epochs": 20}},
    "no-residual": {"train": {"residual": False}},
}


def run(dataset: str, name: str, over: dict[str, Any], epsilon: float, seed: int, work: Paths) -> dict[str, Any]:
    params = load_params(ROOT / "params.yaml", **deep_merge(
        {"dataset": dataset, "train": {"model": "bigru", "residual": True}, "features": {"scaling": "log"},
         "privacy": {"mode": "gp", "epsilon": epsilon}}, over))
    table = pl.read_parquet(work.feature_table)
    windows = pl.read_parquet(work.windows)
    targets = pl.read_parquet(work.targets)
    zones = list(targets.columns)
    w = params.features.window
    h = params.features.horizon
    x_train, y_train = window_arrays(table, windows, "train", w, h, zones)
    x_val, y_val = window_arrays(table, windows, "validation", w, h, zones)
    model, loop = build_model(params, "bigru", x_train, y_train, len(zones), seed)
    device = select_device(params.train.device)
    plan = plan_privacy(params, "bigru", seed, len(x_train), loop.batch_size, training_digest(x_train, y_train),
                        work.release_metadata, device.type)
    charge(plan, params, "bigru", dataset)
    start = time.perf_counter()
    fit_private(model, (x_train, y_train), loop, plan.noise_multiplier, plan.max_grad_norm, device, plan.stream(),
                progress=False, **private_options(params))
    seconds = time.perf_counter() - start
    val = forecast_errors(y_val, predict(model, x_val, device), zones)["rmse"]["mean"]
    pers = forecast_errors(y_val, persistence_forecast(x_val, len(zones), h), zones)["rmse"]["mean"]
    return {"dataset": dataset, "config": name, "overrides": over, "epsilon": epsilon, "unit": params.privacy.unit,
            "seed": seed, "noise_multiplier": plan.noise_multiplier, "steps": plan.report.steps,
            "validation_rmse": val, "persistence_validation_rmse": pers, "skill": 1 - val / pers,
            "train_seconds": round(seconds, 1)}


def table(rows: list[dict[str, Any]]) -> str:
    """Validation skill over persistence per config, epsilon and seed."""
    lines = ["| config | overrides | epsilon | seed | sigma | steps | validation RMSE | persistence | skill |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['config']} | `{json.dumps(r['overrides'])}` | {r['epsilon']:g} | {r['seed']} | "
                     f"{r['noise_multiplier']:.2f} | {r['steps']} | {r['validation_rmse']:.1f} | "
                     f"{r['persistence_validation_rmse']:.1f} | {r['skill']:+.3f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="auckland")
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--configs", nargs="*", default=list(CONFIGS))
    ap.add_argument("--set", action="append", default=[], metavar="NAME=JSON",
                    help="an extra config: name and its overrides as JSON")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--table", action="store_true", help="print the results so far as Markdown")
    args = ap.parse_args()
    if args.list:
        for name, over in CONFIGS.items():
            print(f"{name}: {json.dumps(over)}")
        return 0
    out = ROOT / "artifacts" / "study" / f"defaults-{args.dataset}" / "results.jsonl"
    if args.table:
        print(table([json.loads(line) for line in out.read_text().splitlines() if line.strip()]))
        return 0
    configs = {n: CONFIGS[n] for n in args.configs}
    for item in args.set:
        name, _, text = item.partition("=")
        configs[name] = json.loads(text)
    params = load_params(ROOT / "params.yaml", dataset=args.dataset, privacy={"mode": "gp"},
                         features={"scaling": "log"})
    work = Paths(ROOT / "artifacts" / "study" / f"defaults-{args.dataset}", tracking_root=ROOT)
    build_workspace(ROOT, params, work)
    for name, over in configs.items():
        row = run(args.dataset, name, over, args.epsilon, args.seed, work)
        print(f"{name:>14}  eps {row['epsilon']:g}  sigma {row['noise_multiplier']:.2f}  val RMSE "
              f"{row['validation_rmse']:.2f}  persistence {row['persistence_validation_rmse']:.2f}  "
              f"skill {row['skill']:+.3f}  {row['train_seconds']} s", flush=True)
        with out.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
