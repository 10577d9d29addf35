"""``dpforecast predict``: the next-interval forecast from a registered model and a CSV window."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl

from dpforecast.data.schema import TIMESTAMP
from dpforecast.serving.window import TARGET_TIME, read_window_csv


def forecast_csv(model_uri: str, csv: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """Forecasts of the served model for every complete window of ``csv`` (the last row is
    the next interval after the file), and the zones' display names. The CSV is in the
    layout of the model's data set or the short one. Resolves ``models:/NAME@ALIAS`` in
    the current store."""
    import mlflow

    model = mlflow.pyfunc.load_model(model_uri)
    served = model.unwrap_python_model()
    counts = read_window_csv(csv, served.dataset, served.zones)
    frame = counts.select(pl.col(TIMESTAMP).dt.to_string("%Y-%m-%dT%H:%M:%S%:z"), *served.zones).to_pandas()
    return model.predict(frame), served.dataset.zone_names


def next_interval_table(forecasts: pd.DataFrame, names: dict[str, str]) -> str:
    """The last forecast, one line per zone, rounded to whole people."""
    last = forecasts.iloc[-1]
    zones = [c for c in forecasts.columns if c != TARGET_TIME]
    width = max(20, *(len(names.get(z, z)) for z in zones))
    lines = [f"forecast for {last[TARGET_TIME]}", f"zone  {'name':<{width}} people"]
    lines += [f"{z:<5} {names.get(z, z):<{width}} {round(float(last[z])):>7}" for z in zones]
    return "\n".join(lines)
