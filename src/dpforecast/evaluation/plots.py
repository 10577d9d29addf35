"""Figures for DVC plots and MLflow: the test period at one lead, a fan for one origin, the
error against lead time and the training curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dpforecast.runtime.io import atomic_path  # noqa: E402


def save_png(fig: plt.Figure, out: Path) -> None:
    """Lay out, write atomically as PNG, and free the figure."""
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


MAX_PANELS = 12  # a city's thousand zones do not fit one figure: the first ones are shown


def forecast_figure(
    times: list, actual: np.ndarray, forecasts: dict[str, np.ndarray], out: Path,
    names: dict[str, str], zones: list[str], lead_text: str = "next-interval",
) -> None:
    """One panel per zone (the first :data:`MAX_PANELS`): the actual test block and every
    model's forecast at one lead (``(n, zones)`` each, indexed by target time)."""
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
    fig.suptitle(f"Test block: {lead_text} forecast against actual counts{more}")
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
    if ax.lines:  # DP-SGD models only: no curve to label
        ax.legend(fontsize=7)
    save_png(fig, out)


def fan_figure(history: tuple[list, np.ndarray], future: tuple[list, np.ndarray], model: str, forecast: np.ndarray,
               bands: dict[float, tuple[np.ndarray, np.ndarray]], out: Path, names: dict[str, str],
               zones: list[str]) -> None:
    """One forecast origin: the input window and what followed (black), ``model``'s forecast
    at every lead ``(horizon, zones)`` and its intervals (``level -> (lower, upper)``)."""
    shown = zones[:MAX_PANELS]
    fig, axes = plt.subplots(len(shown), 1, figsize=(10, 2.2 * len(shown)), sharex=True, squeeze=False)
    for k, (zone, ax) in enumerate(zip(shown, axes[:, 0], strict=True)):
        ax.plot(history[0], history[1][:, k], color="black", linewidth=1.2, label="input window")
        ax.plot(future[0], future[1][:, k], color="black", linestyle=":", linewidth=1.2, label="actual")
        for level, (lower, upper) in sorted(bands.items(), reverse=True):
            ax.fill_between(future[0], lower[:, k], upper[:, k], alpha=0.25 if level > 0.9 else 0.4,
                            color="tab:blue", linewidth=0, label=f"{round(level * 100)}% interval")
        ax.plot(future[0], forecast[:, k], color="tab:blue", linewidth=1.2, label=model)
        ax.set_ylabel(zone)
        ax.set_title(names.get(zone, zone), fontsize=8, loc="left")
    axes[0, 0].legend(fontsize=7, loc="upper left", ncol=5)
    what = "with split conformal intervals" if bands else "(no intervals)"
    fig.suptitle(f"Forecast from {history[0][-1]} at every lead, {what}")
    save_png(fig, out)


def lead_figure(minutes: list[int], curves: dict[str, list[float]], out: Path, metric: str = "RMSE") -> None:
    """Test error (mean over zones) against lead time, one line per forecaster."""
    fig, ax = plt.subplots(figsize=(8, 4))
    hours = np.asarray(minutes) / 60
    for name, curve in curves.items():
        ax.plot(hours, curve, marker="." if len(hours) < 60 else None, label=name,
                linestyle="--" if name in ("persistence", "ridge", "seasonal_day", "seasonal_week") else "-")
    ax.set_xlabel("lead time (hours)")
    ax.set_ylabel(f"test {metric} (mean over zones)")
    ax.legend(fontsize=7)
    save_png(fig, out)
