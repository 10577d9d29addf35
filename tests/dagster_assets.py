"""Materialize the data assets a Dagster test needs upstream of the one it tests."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from dagster_project.definitions import defs
from dagster_project.defs.resources import MlflowResource, ProjectResource

UPSTREAM_OF_SERIES = ("incoming_data", "raw_mobility", "validated_series")


def materialize_validated_series(root: Path) -> None:
    """Ingest and validate ``root``'s data set, as the ``data`` group does before a variant or a backtest."""
    assets = [a for a in defs.assets if a.key.to_user_string() in UPSTREAM_OF_SERIES]
    result = dg.materialize(assets, resources={"project": ProjectResource(root=str(root)), "mlflow": MlflowResource()})
    assert result.success and (root / "artifacts" / "validate" / "series.parquet").is_file()
