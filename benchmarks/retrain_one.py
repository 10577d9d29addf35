"""Train one architecture on a data set and print its test RMSE: run it at two commits to
check that a change keeps the figures (a worktree per commit, this script from either).

    PYTHONPATH=$PWD/src:$PWD .venv/bin/python benchmarks/retrain_one.py --dataset auckland --model gru --epochs 40

The stages up to the features run in a scratch workspace (``stages.workspace``), then the
``train`` stage's ``train_one`` (seed 0, untracked, nothing charged: non-private). On the
same machine the same code gives the same digits; across machines the last digits may move.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path.cwd()
sys.path.insert(0, str(ROOT / "src"))

from dpforecast.config import load_params  # noqa: E402
from dpforecast.runtime.paths import Paths  # noqa: E402
from dpforecast.stages.train import train_one  # noqa: E402
from dpforecast.stages.workspace import build_workspace  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="montreuil")
    parser.add_argument("--model", default="gru")
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    os.environ.setdefault("DPFORECAST_HOME", tempfile.mkdtemp())  # no ledger of the developer's is touched
    params = load_params(ROOT / "params.yaml", dataset=args.dataset,
                         train={"epochs": args.epochs, "model": args.model}, privacy={"mode": "none"})
    work = Paths(Path(tempfile.mkdtemp()), tracking_root=ROOT)
    build_workspace(ROOT, params, work)
    trained = train_one(work, params, args.model, seed=0, track=False, progress=False)
    print(f"{args.dataset} {args.model}: test mean RMSE {trained.test['rmse']['mean']!r} after {trained.epochs_run} epochs")


if __name__ == "__main__":
    main()
