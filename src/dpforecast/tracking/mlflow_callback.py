"""MLflow logging as a callback of a fit: one run per model, its settings, curves and guarantee.

Passed in (``DPForecast(..., callbacks=[MLflowLogger()])``) rather than switched on: a fit
knows nothing of MLflow. The tracking URI is MLflow's own (``MLFLOW_TRACKING_URI`` or
``mlflow.set_tracking_uri``); the privacy report is logged with every run, and a private
run's tags say which guarantee its metrics carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mlflow

from dpforecast.models.base import Callback, FitSummary


class MLflowLogger(Callback):
    """One MLflow run per fitted model in ``experiment``."""

    def __init__(self, experiment: str = "dpforecast", tags: Mapping[str, str] | None = None) -> None:
        self.experiment, self.tags = experiment, dict(tags or {})
        self.run_ids: dict[str, str] = {}

    def on_fit_start(self, model: str, settings: Mapping[str, Any]) -> None:
        self._start(model)
        mlflow.log_params(dict(settings))

    def on_epoch_end(self, model: str, epoch: int, metrics: Mapping[str, float]) -> None:
        mlflow.log_metrics(dict(metrics), step=epoch)

    def on_fit_end(self, model: str, summary: FitSummary, guarantee: Mapping[str, Any]) -> None:
        if mlflow.active_run() is None:  # a rule (persistence, seasonal naive) has no fit_start
            self._start(model)
        metrics = {"fit_seconds": summary.seconds, **{k: float(v) for k, v in summary.details.items()
                                                      if isinstance(v, (int, float))}}
        if summary.best_epoch is not None:
            metrics["best_epoch"] = summary.best_epoch
        mlflow.log_metrics(metrics)
        mlflow.log_dict(dict(guarantee), "privacy/privacy.json")
        mlflow.set_tags({"privacy.private": str(bool(guarantee.get("private"))).lower(),
                         "privacy.mode": str(guarantee.get("mode"))})
        mlflow.end_run()

    def _start(self, model: str) -> None:
        if mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_experiment(self.experiment)
        run = mlflow.start_run(run_name=model, tags={"model": model, **self.tags})
        self.run_ids[model] = run.info.run_id
