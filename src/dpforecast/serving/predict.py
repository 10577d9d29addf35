"""``dpforecast predict``: the next-interval forecast from a registered model and a CSV window."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl

from dpforecast.data.schema import TIMESTAMP, ZONE_NAMES, ZONES
from dpforecast.serving.window import TARGET_TIME, read_window_csv


def forecast_csv(model_uri: str, csv: Path, timezone: str) -> pd.DataFrame:
    """Forecasts of the served model for every complete window of ``csv`` (the last row is
    the next interval after the file). Resolves ``models:/NAME@ALIAS`` in the current store."""
    import mlflow

    counts = read_window_csv(csv, timezone)
    frame = counts.select(pl.col(TIMESTAMP).dt.to_string("%Y-%m-%dT%H:%M:%S%:z"), *ZONES).to_pandas()
    return mlflow.pyfunc.load_model(model_uri).predict(frame)


def next_interval_table(forecasts: pd.DataFrame) -> str:
    """The last forecast, one line per zone, rounded to whole people."""
    last = forecasts.iloc[-1]
    lines = [f"forecast for {last[TARGET_TIME]}", "zone  name                 people"]
    lines += [f"{z:<5} {ZONE_NAMES[z]:<20} {round(float(last[z])):>7}" for z in ZONES]
    return "\n".join(lines)
