"""The MLflow pyfunc flavour of a forecaster, logged as "model from code".

MLflow stores this file's source instead of a pickled object, and the weights travel as
a ``state_dict`` read with ``weights_only=True``: loading a logged model never unpickles
arbitrary objects from the artifact store.
"""

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import set_model

from dpforecast.data.schema import ZONES


class ForecasterModel(mlflow.pyfunc.PythonModel):
    """Rebuilds the module from our code and its saved folder; answers one column per zone."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        from dpforecast.models.store import load_forecaster

        self.model = load_forecaster(context.artifacts["forecaster"])

    def predict(self, context, model_input: np.ndarray, params=None) -> pd.DataFrame:  # noqa: ANN001
        from dpforecast.training.loop import predict

        x = np.asarray(model_input, dtype=np.float32)
        return pd.DataFrame(predict(self.model, x, self.model.x_mean.device), columns=ZONES)


set_model(ForecasterModel())
