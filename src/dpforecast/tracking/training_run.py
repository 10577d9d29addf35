"""What the ``train`` stage records in MLflow about one training, as a callback it is handed.

The stage calls the same hooks whether or not it is tracked: :class:`TrainingRun` logs
parameters and lineage tags when the run starts, each epoch's losses (under DP-SGD the
steps and the epsilon spent on the unit instead: no private loss leaves), and at the end
the test errors (tagged as the data owner's, covered by no guarantee), the guarantee and
privacy report (known once the fit has planned or released: the in-memory API plans
inside the fit), the data version of a non-private run, the intervals' tags and the model
itself; :class:`Untracked` records nothing. A run that raises is closed as FAILED.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from dpforecast.data.versioning import DVC_FILE
from dpforecast.models.base import Callback
from dpforecast.models.conformal import Intervals, interval_tags
from dpforecast.privacy.report import PrivacyReport
from dpforecast.runtime.paths import Paths


class Untracked(Callback):
    """A training nobody records (tests, backtests, benchmarks)."""

    run_id: str | None = None

    def start(self, params: Mapping[str, Any], tags: Mapping[str, str]) -> None:
        return None

    def finish(self, folder: Path, errors: Mapping[str, Any], intervals: Intervals | None,
               summary: Mapping[str, float], example: Callable[[], pd.DataFrame], report: PrivacyReport) -> str | None:
        """Record the trained model (its folder still being written); the served model's URI."""
        return None

    def close(self) -> None:
        """The model's folder is in place: the run is complete."""
        return None

    def fail(self) -> None:
        return None


class TrainingRun(Untracked):
    """One MLflow run of the project's store for one trained architecture."""

    def __init__(self, paths: Paths, experiment: str, name: str, private: bool) -> None:
        self.paths, self.experiment, self.name = paths, experiment, name
        self.private = private

    def start(self, params: Mapping[str, Any], tags: Mapping[str, str]) -> None:
        import mlflow

        from dpforecast.tracking.mlflow_tracking import configure, start_run

        configure(self.paths, self.experiment)
        self.run_id = start_run(self.name).info.run_id
        mlflow.log_params(dict(params))
        mlflow.set_tags(dict(tags))

    def on_epoch_end(self, model: str, epoch: int, metrics: Mapping[str, float]) -> None:
        import mlflow

        mlflow.log_metrics(dict(metrics), step=epoch)  # under DP-SGD: steps and the epsilon spent, no loss

    def finish(self, folder: Path, errors: Mapping[str, Any], intervals: Intervals | None,
               summary: Mapping[str, float], example: Callable[[], pd.DataFrame], report: PrivacyReport) -> str | None:
        import mlflow

        from dpforecast.tracking.mlflow_tracking import log_forecaster

        mlflow.log_metrics({f"test_{m}_{z}": v for m in ("rmse", "mae") for z, v in errors[m].items()})
        # the raw test errors are the data owner's, never covered by the model's guarantee
        mlflow.set_tag("privacy.guarantee", report.summary())
        mlflow.set_tag("test_metrics.scope", "internal: raw test counts, not covered by any privacy guarantee")
        if report.private:
            mlflow.log_metrics({"privacy_epsilon": report.epsilon, "privacy_delta": report.delta})
        mlflow.log_dict(report.to_json(), "privacy/privacy.json")
        roots = (self.paths.root, self.paths.tracking_root)
        dvc_file = next((r / DVC_FILE for r in roots if r and (r / DVC_FILE).is_file()), None)
        if dvc_file is not None and not self.private:  # what `dpforecast restore-data` checks out again
            mlflow.log_artifact(str(dvc_file), "lineage")
        mlflow.log_text(report.to_markdown(), "privacy/privacy.md")
        mlflow.set_tags(interval_tags(intervals))
        mlflow.log_metrics(dict(summary))
        return log_forecaster(folder, example())

    def close(self) -> None:
        import mlflow

        mlflow.end_run()

    def fail(self) -> None:
        import mlflow

        mlflow.end_run(status="FAILED")
