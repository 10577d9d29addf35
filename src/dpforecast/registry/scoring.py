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

from dpforecast.data.schema import INTERVAL_MINUTES, TIMESTAMP, ZONES
from dpforecast.evaluation.metrics import forecast_errors
from dpforecast.paths import Paths
from dpforecast.serving.window import TARGET_TIME


def scoring_targets(paths: Paths) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The raw series and the test targets (``target_time`` and raw zone counts)."""
    series = pl.read_parquet(paths.series)
    windows = pl.read_parquet(paths.windows).filter(pl.col("split") == "test")
    targets = series.select(ZONES)[windows["target_row"]].with_columns(windows["target_time"].alias(TARGET_TIME))
    return series, targets


def _segments(counts: pl.DataFrame) -> list[pl.DataFrame]:
    """Runs of consecutive 30-minute rows (a served window never spans a gap)."""
    # Polars subtracts the instants, so a change of time is no break.
    breaks = (counts[TIMESTAMP].diff() != timedelta(minutes=INTERVAL_MINUTES)).fill_null(True)
    run_id = breaks.cum_sum().alias("segment")
    return [part.drop("segment") for part in counts.with_columns(run_id).partition_by("segment", maintain_order=True)]


def score_version(model_uri: str, series: pl.DataFrame, targets: pl.DataFrame) -> dict[str, Any]:
    """Test errors of the model at ``model_uri`` on ``targets`` (as :func:`forecast_errors`).

    Raises ``ValueError`` if the model cannot forecast every test interval."""
    import mlflow

    model = mlflow.pyfunc.load_model(model_uri)
    window = model.unwrap_python_model().model.spec.window
    start = targets[TARGET_TIME].min() - timedelta(minutes=INTERVAL_MINUTES * (window + 48))
    recent = series.filter(pl.col(TIMESTAMP) >= start)
    forecasts = []
    for part in _segments(recent):
        if part.height >= window:
            frame = part.select(pl.col(TIMESTAMP).dt.to_string("%Y-%m-%dT%H:%M:%S%:z"), *ZONES).to_pandas()
            forecasts.append(pl.from_pandas(model.predict(frame)))
    wanted = targets.with_columns(pl.col(TARGET_TIME).dt.to_string("%Y-%m-%dT%H:%M:%S%:z"))
    joined = wanted.join(pl.concat(forecasts), on=TARGET_TIME, how="left", suffix="_pred") if forecasts else None
    if joined is None or joined.select(pl.col(f"{ZONES[0]}_pred").is_null().any()).item():
        raise ValueError(f"{model_uri}: cannot forecast every test interval (window {window} over the recent series)")
    y_true = joined.select(ZONES).to_numpy()
    y_pred = joined.select([f"{z}_pred" for z in ZONES]).to_numpy()
    return forecast_errors(np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64))
