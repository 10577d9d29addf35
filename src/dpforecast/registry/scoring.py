"""Score any registered model version on the current test windows, through its served form.

Champion and challenger are compared on the same data: the test windows of the features
just built, with the raw targets at every lead. Each version is loaded as the pyfunc that
serving uses and fed the recent counts, so it builds its own features with its own window
and calendar parameters; a champion trained on an older data version is scored on today's
test week.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from dpforecast.data.clock import Clock
from dpforecast.data.schema import TIMESTAMP
from dpforecast.evaluation.metrics import forecast_errors
from dpforecast.features.windows import target_rows
from dpforecast.runtime.paths import Paths
from dpforecast.serving.window import (
    FORECAST,
    LEAD,
    ORIGIN_TIME,
    TARGET_TIME,
    ZONE,
    check_served,
)

ISO = "%Y-%m-%dT%H:%M:%S%:z"  # how the pyfunc writes times


def scoring_targets(paths: Paths, horizon: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`test_targets` of the features just built in ``paths``: the raw series and the
    test windows the ``features`` stage wrote (``horizon``: the leads they were built for)."""
    zones = list(pl.read_parquet_schema(paths.targets))  # the modelled zones
    series = pl.read_parquet(paths.series).select(TIMESTAMP, *zones)
    windows = pl.read_parquet(paths.windows).filter(pl.col("split") == "test")
    return series, test_targets(series, windows, horizon, str(paths.windows))


def test_targets(series: pl.DataFrame, windows: pl.DataFrame, horizon: int, where: str = "windows") -> pl.DataFrame:
    """The test targets of ``windows`` (their ``target_row``) in the raw ``series``
    (``timestamp`` and the modelled zones): one row per window and lead (window by window,
    lead 1 first) with ``origin_time`` (the window's last input), ``target_time``, ``lead``
    and the raw zone counts."""
    zones = [c for c in series.columns if c != TIMESTAMP]
    rows = target_rows(windows, horizon)
    if rows.size and rows.max() >= series.height:
        raise ValueError(f"{where}: the test window with lead-1 target row {int(rows[-1, 0])} has no lead "
                         f"{horizon} in the {series.height}-row series: the windows were built for a shorter horizon")
    times = series[TIMESTAMP]
    targets = series.select(zones)[rows.ravel()].with_columns(
        times[np.repeat(rows[:, 0] - 1, horizon)].alias(ORIGIN_TIME),
        times[rows.ravel()].alias(TARGET_TIME),
        pl.Series(LEAD, np.tile(np.arange(1, horizon + 1), len(windows)), dtype=pl.Int64),
    )
    return targets.select(ORIGIN_TIME, TARGET_TIME, LEAD, *zones)


def _segments(counts: pl.DataFrame, clock: Clock) -> list[pl.DataFrame]:
    """Runs of consecutive intervals of the data set's clock with every count present (a
    served window never spans a gap; a change of time is no break)."""
    complete = counts.select(pl.all_horizontal(pl.exclude(TIMESTAMP).is_not_null())).to_series()
    counts = counts.filter(complete)
    rows = np.arange(counts.height - 1)
    breaks = pl.Series([True, *~clock.consecutive(counts[TIMESTAMP], rows, rows + 1, 1)])[:counts.height]
    run_id = breaks.cum_sum().alias("segment")
    return [part.drop("segment") for part in counts.with_columns(run_id).partition_by("segment", maintain_order=True)]


def score_version(model_uri: str, series: pl.DataFrame, targets: pl.DataFrame) -> dict[str, Any]:
    """Test errors of the model at ``model_uri`` on ``targets`` (as :func:`forecast_errors`
    on ``(windows, leads, zones)``: a zone's error is the mean over leads).

    Raises ``ValueError`` if the model forecasts other leads than ``targets`` holds, or
    cannot forecast every test window and lead."""
    import mlflow

    model = mlflow.pyfunc.load_model(model_uri)
    served = model.unwrap_python_model()
    check_served(served, model_uri)
    spec, clock = served.model.spec, served.dataset.clock
    window, horizon = spec.window, spec.horizon
    leads = targets[LEAD].max()
    if horizon != leads:
        raise ValueError(f"{model_uri}: forecasts {horizon} lead(s) but the test windows have {leads}: a model is "
                         f"only scored on windows of its own horizon")
    zones = [c for c in targets.columns if c not in (ORIGIN_TIME, TARGET_TIME, LEAD)]
    start = targets[ORIGIN_TIME].min() - timedelta(minutes=clock.interval_minutes * (window + 48))
    recent = series.filter(pl.col(TIMESTAMP) >= start)
    forecasts = [pl.from_pandas(model.predict(part.select(pl.col(TIMESTAMP).dt.to_string(ISO), *zones).to_pandas()))
                 for part in _segments(recent, clock) if part.height >= window]
    wanted = targets.with_columns(pl.col(ORIGIN_TIME).dt.to_string(ISO))
    joined = None
    if forecasts:  # served rows back to one row per (window, lead), a column per zone
        wide = pl.concat(forecasts).pivot(on=ZONE, index=[ORIGIN_TIME, LEAD], values=FORECAST)
        joined = wanted.join(wide, on=[ORIGIN_TIME, LEAD], how="left", suffix="_pred", maintain_order="left")
    if joined is None or any(f"{z}_pred" not in joined.columns for z in zones) or joined.select(
            pl.any_horizontal(pl.col(f"{z}_pred").is_null() for z in zones).any()).item():
        raise ValueError(f"{model_uri}: cannot forecast every test window and lead (window {window}, {horizon} "
                         f"lead(s) over the recent series, zones {zones[:3]}...)")
    shape = (joined.height // horizon, horizon, len(zones))
    y_true = joined.select(zones).to_numpy().reshape(shape)
    y_pred = joined.select([f"{z}_pred" for z in zones]).to_numpy().reshape(shape)
    return forecast_errors(np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64), zones)
