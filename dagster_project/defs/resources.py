"""Resources: which project root the assets work in, and where MLflow tracks their runs.

Both are plain :class:`dagster.ConfigurableResource` classes, bound under the keys
``project`` and ``mlflow`` by the ``@dg.definitions`` function at the bottom (the way a
``load_from_defs_folder`` project declares resources). Tests bind their own instances
through ``dg.materialize(..., resources=...)``.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

if TYPE_CHECKING:
    import polars as pl

from dpforecast.config import Params, TrackingParams, load_params
from dpforecast.runtime.paths import Paths


def _repo_root() -> Path:
    """The nearest folder above this file holding ``pyproject.toml`` (where params.yaml and
    dvc.yaml are), so the package may live at the root or under ``src/``."""
    here = Path(__file__).resolve()
    return next((p for p in here.parents if (p / "pyproject.toml").is_file()), here.parents[2])


REPO_ROOT = _repo_root()


def default_root() -> str:
    """``DPFORECAST_ROOT`` if set (as for the DVC scripts), else this repository's root.

    The DVC scripts fall back to the current folder because ``dvc`` runs them from the
    repository root; ``dagster dev`` may be started anywhere, so Dagster falls back to the
    folder this package sits in.
    """
    return str(Path(os.environ.get("DPFORECAST_ROOT") or REPO_ROOT).resolve())


class ProjectResource(dg.ConfigurableResource):
    """A project root: the data under it, ``params.yaml`` in it, every output below it."""

    root: str = Field(
        default=default_root(),
        description="Project root (DPFORECAST_ROOT if set when the code location loads, else the repository root).",
    )
    params_file: str = Field(
        default="params.yaml",
        description="Parameter file, relative to root (or absolute); its profile is read from profiles/ beside it.",
    )
    record_in_dvc: bool = Field(
        default=True,
        description="After an asset that is a DVC stage, `dvc commit` that stage when DVC would have built "
        "the same, so `dvc status` sees Dagster's outputs up to date (dpforecast.stages.record).",
    )

    def root_path(self) -> Path:
        return Path(self.root).resolve()

    def params_path(self) -> Path:
        params_path = Path(self.params_file)
        return params_path if params_path.is_absolute() else self.root_path() / params_path

    def load(self, dataset: str | None = None) -> tuple[Paths, Params]:
        """The root's :class:`Paths` and its parameters, exactly as ``load_project`` reads them;
        for ``dataset`` (another data set's graph, see ``scope.py``), params.yaml's parameters
        on that data set, with outputs under ``artifacts/datasets/<dataset>/``."""
        root = self.root_path()
        if dataset is None:
            return Paths(root), load_params(self.params_path())
        work = Paths(root / "artifacts" / "datasets" / dataset, tracking_root=root, source_root=root)
        return work, load_params(self.params_path(), dataset=dataset)

    def record(self, stage: str, log=None, dataset: str | None = None) -> dict[str, dg.MetadataValue]:
        """Record DVC stage ``stage`` in ``dvc.lock`` after its asset wrote its outputs; the
        outcome (or why it was not recorded) as the ``dvc`` metadata entry. Never raises."""
        if dataset is not None:
            outcome = (f"not recorded: DVC's workspace holds params.yaml's data set; "
                       f"`dvc exp run -S dataset={dataset}` builds this one there")
        elif not self.record_in_dvc:
            outcome = "not recorded: record_in_dvc is off"
        else:
            from dpforecast.stages.record import record_stage

            outcome = record_stage(self.root_path(), stage, self.params_path())
        if log is not None:
            log.info(f"dvc {stage}: {outcome}")
        return {"dvc": dg.MetadataValue.text(outcome)}

    def validated_series(self, paths: Paths) -> "pl.DataFrame":
        """The ``validated_series`` asset's series (``deps``: read here, never re-validated);
        a clear failure when it was never materialized."""
        import polars as pl

        if not paths.series.is_file():
            raise dg.Failure(description=f"{paths.series} does not exist: materialize validated_series first "
                                         f"(or run `.venv/bin/dvc repro validate`)")
        return pl.read_parquet(paths.series)

    def load_all_models(self, dataset: str | None = None) -> tuple[Paths, Params]:
        """As :meth:`load`, with ``train.model = "all"``: Dagster always builds the four model
        assets, so the assets downstream of them cover all four whatever params.yaml selects."""
        paths, params = self.load(dataset)
        return paths, replace(params, train=replace(params.train, model="all"))


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking for the training and evaluation assets.

    The stage functions configure MLflow themselves (``dpforecast.tracking.mlflow_tracking.configure``:
    ``MLFLOW_TRACKING_URI`` if set, else ``sqlite:///<root>/mlflow.db``) with the experiment
    named in ``params.yaml``. This resource can override both for a Dagster run without
    touching ``params.yaml``; left at ``None`` it changes nothing, so DVC and Dagster runs of
    one root land in the same store and experiment.
    """

    experiment: str | None = Field(
        default=None, description="MLflow experiment; None keeps params.yaml's tracking.experiment."
    )
    tracking_uri: str | None = Field(
        default=None,
        description="Tracking URI; None keeps MLFLOW_TRACKING_URI or the project's sqlite store.",
    )

    @contextmanager
    def tracking(self, paths: Paths, params: Params) -> Iterator[tuple[Params, str, str]]:
        """Configure MLflow for one stage call; yield ``(params, tracking_uri, experiment_id)``.

        The yielded parameters carry this resource's experiment, so the stage (which calls
        ``configure`` again) tracks into the same place. A ``tracking_uri`` is handed to the
        stage the way the library reads it, through ``MLFLOW_TRACKING_URI``, and the previous
        value is restored afterwards.
        """
        import mlflow

        from dpforecast.tracking.mlflow_tracking import configure

        if self.experiment:
            params = replace(params, tracking=TrackingParams(experiment=self.experiment))
        saved = os.environ.get("MLFLOW_TRACKING_URI")
        if self.tracking_uri:
            os.environ["MLFLOW_TRACKING_URI"] = self.tracking_uri
        try:
            experiment_id = configure(paths, params.tracking.experiment)
            yield params, mlflow.get_tracking_uri(), experiment_id
        finally:
            if self.tracking_uri:
                if saved is None:
                    os.environ.pop("MLFLOW_TRACKING_URI", None)
                else:
                    os.environ["MLFLOW_TRACKING_URI"] = saved


def run_link(tracking_uri: str, experiment_id: str, run_id: str | None) -> dg.MetadataValue:
    """A URL to the run when MLflow is a server; otherwise the store's URI and how to browse it."""
    if tracking_uri.startswith(("http://", "https://")):
        base = tracking_uri.rstrip("/")
        return dg.MetadataValue.url(f"{base}/#/experiments/{experiment_id}/runs/{run_id}")
    return dg.MetadataValue.text(
        f"{tracking_uri} (experiment {experiment_id}, run {run_id}; "
        f"browse with: mlflow ui --backend-store-uri {tracking_uri})"
    )


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"project": ProjectResource(), "mlflow": MlflowResource()})
