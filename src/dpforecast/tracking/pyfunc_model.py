"""The MLflow pyfunc flavour of a forecaster, logged as "model from code".

MLflow stores this file's source instead of a pickled object, and the weights travel as
a ``state_dict`` read with ``weights_only=True``: loading a logged model never unpickles
arbitrary objects from the artifact store.

Input: recent counts, one row per consecutive interval of the data set (``timestamp`` in
ISO 8601 with its offset, then the zone ids; or the data set's own layout), at least the
model's window. Output: one row per
complete window, the forecast of the interval ``horizon`` steps after it (``target_time``
and one column per zone). The features are built here, by
:mod:`dpforecast.serving.window`, with the parameters the model was trained with, so a
caller cannot feed it the wrong calendar features.
"""

import mlflow
import pandas as pd
import polars as pl
from mlflow.models import set_model


class ForecasterModel(mlflow.pyfunc.PythonModel):
    """Rebuilds the module from our code and its saved folder; answers one column per zone."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        from dpforecast.io import read_json
        from dpforecast.models.store import DESCRIPTION, load_dataset_spec, load_forecaster

        folder = context.artifacts["forecaster"]
        self.model = load_forecaster(folder)
        description = read_json(f"{folder}/{DESCRIPTION}")
        self.params = description["params"]
        self.zones = description["zones"]
        self.dataset = load_dataset_spec(folder)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:  # noqa: ANN001
        from dpforecast.serving.window import TARGET_TIME, recent_counts, window_inputs
        from dpforecast.training.loop import predict

        p = self.params
        counts = recent_counts(pl.from_pandas(pd.DataFrame(model_input)), self.dataset, self.zones)
        x, targets = window_inputs(counts, self.model.spec.window, p["features.horizon"], p["features.week_period_days"],
                                   self.dataset.interval_minutes)
        out = pd.DataFrame(predict(self.model, x, self.model.x_mean.device), columns=self.zones).astype("float64")
        out.insert(0, TARGET_TIME, [t.isoformat() for t in targets])
        return out


set_model(ForecasterModel())
