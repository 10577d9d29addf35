"""A data set for the in-memory API: its spec, and its own files read as a long frame."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from dpforecast.api.frames import to_long
from dpforecast.config import Params, resolve
from dpforecast.data.ingest import drop_total, read_raw_files, series_from_typed, source_files
from dpforecast.data.spec import DatasetSpec, dataset_path, load_spec
from dpforecast.validation import DataValidationError, validate_raw


def load_dataset(spec: str | Path) -> DatasetSpec:
    """A data set's spec from its file (``datasets/<name>.yaml``) or its name (looked up in
    ``datasets/`` under the working folder)."""
    path = Path(spec)
    return load_spec(path if path.suffix else dataset_path(Path("."), str(spec)))


def read_counts(dataset: DatasetSpec | str | Path, root: str | Path = ".") -> pl.DataFrame:
    """The data set's files (base file and accepted increments, under ``root``, the project
    holding them), validated by its suite, as a long frame ``unique_id, ds, y`` (missing
    counts null): what the pipeline's ``ingest`` and ``validate`` stages read."""
    spec = dataset if isinstance(dataset, DatasetSpec) else load_dataset(dataset)
    return to_long(validated_series(resolve(Params(dataset=spec.name), spec), root), spec.zone_ids)


def validated_series(params: Params, root: str | Path = ".") -> pl.DataFrame:
    """``params``' data set read from its files under ``root`` and validated in memory, as
    the ``validate`` stage writes it (``timestamp`` and one column per zone; no total
    column): the series the experiments fit, with no stage re-run in a scratch folder."""
    spec = params.data_set
    raw = read_raw_files(source_files(Path(root), spec), spec.layout.delimiter)
    report = validate_raw(raw, params, source=str(Path(root) / spec.raw))
    if not report.passed:
        raise DataValidationError(report, report.message())
    return drop_total(series_from_typed(report.typed, spec))
