"""The stages up to the features, run in one workspace: what ``dvc repro features`` builds.

For the tests and benchmarks that need a workspace on disk (a model folder to bundle, a
release to extend, a training to time); the experiments never call it: they fit the
validated series in memory (:mod:`dpforecast.experiments.network_run`).
"""

from __future__ import annotations

from pathlib import Path

from dpforecast.config import Params
from dpforecast.data.ingest import source_files
from dpforecast.runtime.paths import Paths
from dpforecast.stages.features import build_features
from dpforecast.stages.ingest import ingest
from dpforecast.stages.release import release
from dpforecast.stages.validate import validate


def build_series(root: Path, params: Params, work: Paths) -> None:
    """Ingest, validate and release ``params``' data set (files under ``root``) into ``work``:
    the series and, in ``ip`` mode, its noisy release, charged like the project's."""
    base, *added = source_files(root, params.data_set)
    ingest(base, work.raw_table, added, params.data_set.layout.delimiter)
    validate(work.raw_table, work.series, work.validation_dir, params)
    release(work, params)


def build_workspace(root: Path, params: Params, work: Paths) -> dict[str, int]:
    """:func:`build_series`, then the features; the windows per split."""
    build_series(root, params, work)
    return build_features(work, params)
