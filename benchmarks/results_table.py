"""Per-zone test RMSE of the baselines and the models, as the Markdown table BENCHMARKS.md shows.

Reads what the evaluate stage wrote (``metrics/per_zone.json``,
``metrics/baselines_per_zone.json``) under a project root, after e.g.
``dvc exp run -S dataset=auckland``:

    .venv/bin/python benchmarks/results_table.py [ROOT]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dpforecast.config import load_params


def table(root: Path) -> str:
    params = load_params(root / "params.yaml")
    names = params.data_set.zone_names
    models = json.loads((root / "metrics" / "per_zone.json").read_text())
    seasonal = json.loads((root / "metrics" / "baselines_per_zone.json").read_text())
    columns = {"persistence": models["persistence"]["rmse"], **{k: v["rmse"] for k, v in seasonal.items()},
               **{k: m["rmse"] for k, m in models.items() if k != "persistence"}}
    zones = [z for z in models["persistence"]["rmse"] if z != "mean"]
    head = f"| zone | {' | '.join(columns)} |"
    lines = [head, "| --- |" + " ---: |" * len(columns)]
    for z in [*zones, "mean"]:
        best = min(columns, key=lambda c: columns[c][z])
        cells = [f"**{columns[c][z]:.1f}**" if c == best else f"{columns[c][z]:.1f}" for c in columns]
        lines.append(f"| {names.get(z, z) if z != 'mean' else '**mean**'} | {' | '.join(cells)} |")
    windows = {k: v["windows"] for k, v in seasonal.items()}
    return "\n".join(lines) + f"\n\n{params.dataset}: test RMSE per zone; seasonal baselines scored on {windows} windows."


if __name__ == "__main__":
    print(table(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()))
