"""Score any registered model version on the current test windows, through its served form.

Champion and challenger are compared on the same data: the test windows of the features
just built, with the raw targets. Each version is loaded as the pyfunc that serving uses
and fed the recent counts, so it builds its own features with its own window and calendar
parameters; a champion trained on an older data version is scored on today's test week.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from dpforecast.data.schema import TIMESTAMP
from dpforecast.evaluation.metrics import forecast_errors
from dpforecast.paths import Paths
from dpforecast.serving.window import TARGET_TIME


def scoring_targets(paths: Paths) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The raw series and the test targets (``target_time`` and raw zone counts)."""
    zones = list(pl.read_parquet_schema(paths.targets))  # the modelled zones
    series = pl.read_parquet(paths.series).select(TIMESTAMP, *zones)
    windows = pl.read_parquet(paths.windows).filter(pl.col("split") == "test")
    targets = series.select(zones)[windows["target_row"]].with_columns(windows["target_time"].alias(TARGET_TIME))
    return series, targets


def _segments(counts: pl.DataFrame, interval_minutes: int) -> list[pl.DataFrame]:
    """Runs of consecutive intervals with every count present (a served window never
    spans a gap)."""
    # Polars subtracts the instants, so a change of time is no break.
    complete = counts.select(pl.all_horizontal(pl.exclude(TIMESTAMP).is_not_null())).to_series()
    counts = counts.filter(complete)
    breaks = (counts[TIMESTAMP].diff() != timedelta(minutes=interval_minutes)).fill_null(True)
    run_id = breaks.cum_sum().alias("segment")
    return [part.drop("segment") for part in counts.with_columns(run_id).partition_by("segment", maintain_order=True)]


def score_version(model_uri: str, series: pl.DataFrame, targets: pl.DataFrame) -> dict[str, Any]:
    """Test errors of the model at ``model_uri`` on ``targets`` (as :func:`forecast_errors`).

    Raises ``ValueError`` if the model cannot forecast every test interval."""
    import mlflow

    model = mlflow.pyfunc.load_model(model_uri)
    served = model.unwrap_python_model()
    window, interval_minutes = served.model.spec.window, served.dataset.interval_minutes
    zones = [c for c in targets.columns if c != TARGET_TIME]
    start = targets[TARGET_TIME].min() - timedelta(minutes=interval_minutes * (window + 48))
    recent = series.filter(pl.col(TIMESTAMP) >= start)
    forecasts = []
    for part in _segments(recent, interval_minutes):
        if part.height >= window:
            frame = part.select(pl.col(TIMESTAMP).dt.to_string("%Y-%m-%dT%H:%M:%S%:z"), *zones).to_pandas()
            forecasts.append(pl.from_pandas(model.predict(frame)))
    wanted = targets.with_columns(pl.col(TARGET_TIME).dt.to_string("%Y-%m-%dT%H:%M:%S%:z"))
    joined = wanted.join(pl.concat(forecasts), on=TARGET_TIME, how="left", suffix="_pred") if forecasts else None
    if joined is None or any(f"{z}_pred" not in joined.columns for z in zones) or joined.select(
            pl.col(f"{zones[0]}_pred").is_null().any()).item():
        raise ValueError(f"{model_uri}: cannot forecast every test interval (window {window} over the recent "
                         f"series, zones {zones[:3]}...)")
    y_true = joined.select(zones).to_numpy()
    y_pred = joined.select([f"{z}_pred" for z in zones]).to_numpy()
    return forecast_errors(np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64), zones)
