"""Figures for DVC plots and MLflow: the test-week forecast and the training curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dpforecast.io import atomic_path  # noqa: E402


def save_png(fig: plt.Figure, out: Path) -> None:
    """Lay out, write atomically as PNG, and free the figure."""
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


MAX_PANELS = 12  # a city's thousand zones do not fit one figure: the first ones are shown


def forecast_figure(
    times: list, actual: np.ndarray, forecasts: dict[str, np.ndarray], out: Path,
    names: dict[str, str], zones: list[str],
) -> None:
    """One panel per zone (the first :data:`MAX_PANELS`): the actual test block and every
    model's forecast."""
    shown = zones[:MAX_PANELS]
    fig, axes = plt.subplots(len(shown), 1, figsize=(12, 2.2 * len(shown)), sharex=True, squeeze=False)
    axes = axes[:, 0]
    for k, (zone, ax) in enumerate(zip(shown, axes, strict=True)):
        ax.plot(times, actual[:, k], color="black", linewidth=1.4, label="actual")
        for name, pred in forecasts.items():
            ax.plot(times, pred[:, k], linewidth=0.8, label=name)
        ax.set_ylabel(zone)
        ax.set_title(names.get(zone, zone), fontsize=8, loc="left")
    axes[0].legend(ncol=len(forecasts) + 1, fontsize=7, loc="upper right")
    more = f" (first {len(shown)} of {len(zones)} zones)" if len(zones) > len(shown) else ""
    fig.suptitle(f"Test block: next-interval forecast against actual counts{more}")
    save_png(fig, out)


def training_figure(histories: dict[str, list[dict[str, float]]], out: Path) -> None:
    """Training (and validation, when there is a block) loss per epoch, per model. DP-SGD
    models have no loss curve: their histories hold steps only (no statistic of private data)."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, history in histories.items():
        if not history or "train_loss" not in history[0]:
            continue
        epochs = np.arange(1, len(history) + 1)
        line = ax.plot(epochs, [h["train_loss"] for h in history], label=f"{name} train")[0]
        if history and "val_loss" in history[0]:
            ax.plot(epochs, [h["val_loss"] for h in history], "--", color=line.get_color(), label=f"{name} validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (scaled targets)")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    save_png(fig, out)
