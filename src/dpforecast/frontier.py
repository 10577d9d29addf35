"""Private variants side by side, and the privacy-utility frontier (error against epsilon).

One architecture (BiGRU by default), fixed seeds, the project's parameters otherwise;
each point is a real private training whose epsilon comes from its privacy report.
DP-SGD points use ``features.scaling: log`` (a fitted scaler would leak). The table and
the plot go to ``metrics/frontier.json`` and ``plots/frontier.png`` and to one MLflow run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dpforecast.evaluation.plots import plt, save_png
from dpforecast.io import write_json
from dpforecast.variants import PrivacySetting, train_variant

EPSILONS = (0.1, 0.3, 1.0, 3.0, 10.0)
MODES = ("ip", "gp")


def frontier(root: Path, model: str = "bigru", epsilons: tuple[float, ...] = EPSILONS, seed: int = 0,
             profile: str = "default", extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    rows = [train_variant(root, model, PrivacySetting(mode, eps), seed, profile, extra, name=f"frontier-{mode}-{eps:g}")
            for mode in MODES for eps in epsilons]
    write_json(root / "metrics" / "frontier.json", rows)
    figure(rows, root / "plots" / "frontier.png")
    _track(root, rows)
    return rows


def variants(root: Path, model: str = "bigru", epsilon: float = 1.0, seed: int = 0) -> list[dict[str, Any]]:
    """One IP and one DP-SGD training of ``model`` at ``epsilon`` beside the workspace's
    non-private one (``metrics/per_zone.json``): the main job's privacy table."""
    from dpforecast.io import read_json

    rows = []
    per_zone = root / "metrics" / "per_zone.json"
    if per_zone.is_file() and model in (done := read_json(per_zone)):
        rows.append({"mode": "none", "epsilon": None, "rmse": done[model]["rmse"]["mean"],
                     "mae": done[model]["mae"]["mean"], "guarantee": done[model]["privacy"], "seed": seed})
    for mode in MODES:
        rows.append(train_variant(root, model, PrivacySetting(mode, epsilon), seed, name=f"variant-{mode}-{epsilon:g}",
                                  register=True))
    return rows


def figure(rows: list[dict[str, Any]], out: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for mode, label in (("ip", "input perturbation (per count)"), ("gp", "DP-SGD (per window)")):
        pts = sorted((r["epsilon"], r["rmse"]) for r in rows if r["mode"] == mode)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=label)
    ax.set_xscale("log")
    ax.set_xlabel("epsilon (delta and unit in metrics/frontier.json)")
    ax.set_ylabel("test mean RMSE (people)")
    ax.legend(fontsize=8)
    save_png(fig, out)


def _track(root: Path, rows: list[dict[str, Any]]) -> None:
    import mlflow

    from dpforecast.paths import Paths
    from dpforecast.tracking.mlflow_tracking import configure, start_run

    configure(Paths(root), "dpforecast")
    with start_run("privacy-utility-frontier"):
        mlflow.log_dict({"rows": rows}, "frontier.json")
        mlflow.log_artifact(str(root / "plots" / "frontier.png"))


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| mode | epsilon | mean RMSE | mean MAE | guarantee |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        eps = "-" if r["epsilon"] is None else f"{r['epsilon']:g}"
        lines.append(f"| {r['mode']} | {eps} | {r['rmse']:.1f} | {r['mae']:.1f} | {r['guarantee']} |")
    return "\n".join(lines)
