"""The MLflow pyfunc flavour of a forecaster, logged as "model from code".

MLflow stores this file's source instead of a pickled object, and the weights travel as
a ``state_dict`` read with ``weights_only=True``: loading a logged model never unpickles
arbitrary objects from the artifact store.

Input: recent counts, one row per interval of the data set (``timestamp`` in ISO 8601 with
its offset, then the zone ids; or the data set's own layout, e.g. its data file whole, rows
in any order), with at least the model's window of consecutive intervals in which every
zone has a count; the last such stretch is forecast from
(:mod:`dpforecast.serving.complete_windows`). Output: a long table, one row per complete
window of that stretch, lead (``1..horizon``)
and zone, in that order (the model's zone order): ``origin_time`` (the window's last
interval) and ``target_time`` (``lead`` intervals later on the data set's clock), both ISO
8601 with their offset, ``duration_minutes`` (the target interval's length: longer or
shorter across a change of time on a local clock), ``lead``, ``zone``, ``forecast`` (the
count of the target interval) and the split conformal bounds ``lower_80``, ``upper_80``,
``lower_95``, ``upper_95`` (NaN when the model has no ``intervals.json``; under DP-SGD the
privacy guarantee does not cover them). The features are built here, by
:mod:`dpforecast.serving.window`, with the parameters the model was trained with, so a
caller cannot feed it the wrong calendar features.
"""

import mlflow
import pandas as pd
import polars as pl
from mlflow.models import set_model


class ForecasterModel(mlflow.pyfunc.PythonModel):
    """Rebuilds the module from our code and its saved folder; answers the long table."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        from dpforecast.models.store import (
            DESCRIPTION,
            load_dataset_spec,
            load_forecaster,
            load_intervals,
        )
        from dpforecast.runtime.io import read_json

        folder = context.artifacts["forecaster"]
        self.model = load_forecaster(folder)
        description = read_json(f"{folder}/{DESCRIPTION}")
        self.params = description["params"]
        self.zones = description["zones"]
        self.private = bool(description.get("privacy", {}).get("private", False))
        self.dataset = load_dataset_spec(folder)
        self.intervals = load_intervals(folder)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:  # noqa: ANN001
        from dpforecast.serving.complete_windows import last_complete_stretch
        from dpforecast.serving.window import (
            forecast_table,
            recent_counts,
            window_inputs,
        )
        from dpforecast.training.loop import predict

        clock = self.dataset.clock
        counts = recent_counts(pl.from_pandas(pd.DataFrame(model_input)), self.dataset, self.zones)
        counts = last_complete_stretch(counts, self.model.spec.window, clock, self.dataset.zone_names).counts
        x, origins = window_inputs(counts, self.model.spec.window, clock=clock,
                                   week_period_days=self.params["features.week_period_days"],
                                   known_future=self.params.get("features.known_future") or (),
                                   horizon=self.model.spec.horizon, calendar=self.dataset.calendar)
        forecast = predict(self.model, x, self.model.x_mean.device)
        return forecast_table(origins, forecast, self.intervals, self.zones, clock=clock,
                              calendar=self.dataset.calendar).to_pandas()


set_model(ForecasterModel())
