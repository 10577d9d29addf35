"""Where each stage reads and writes, relative to one project root.

DVC's ``dvc.yaml`` and Dagster's assets both use these paths, so the two entry points
produce the same files and can be compared byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The evaluation's measures, one file each, every forecaster a key in each.
METRIC_FILES = ("rmse", "mae", "skill", "mase", "coverage_80", "coverage_95", "epsilon", "privacy")


@dataclass(frozen=True)
class Paths:
    root: Path
    # Where the project's state lives (MLflow's embedded store; the privacy ledger is the data set's, outside);
    # defaults to ``root`` (a study run writes its artifacts elsewhere but tracks into,
    # and spends from, the project's).
    tracking_root: Path | None = None
    # Where the data set's own files are (``files.*`` of its spec are relative to it), when
    # not ``root``: Dagster's graph of a data set other than params.yaml's writes under
    # ``artifacts/datasets/<name>/`` and reads the project's ``data/``.
    source_root: Path | None = None

    @property
    def sources(self) -> Path:
        return self.source_root or self.root

    @property
    def raw_table(self) -> Path:
        return self.root / "artifacts" / "ingest" / "raw.parquet"

    @property
    def series(self) -> Path:
        return self.root / "artifacts" / "validate" / "series.parquet"

    @property
    def validation_dir(self) -> Path:
        return self.root / "reports" / "validation"

    @property
    def release_dir(self) -> Path:
        """Input perturbation's private copy of the series (written only in ``ip`` mode)."""
        return self.root / "artifacts" / "release"

    @property
    def release_series(self) -> Path:
        return self.release_dir / "series.parquet"

    @property
    def release_metadata(self) -> Path:
        return self.release_dir / "release.json"

    @property
    def feature_table(self) -> Path:
        return self.root / "artifacts" / "features" / "table.parquet"

    @property
    def targets(self) -> Path:
        """Raw zone counts per row: test targets stay raw whatever the models train on."""
        return self.root / "artifacts" / "features" / "targets.parquet"

    @property
    def feature_summary(self) -> Path:
        """Modelled and dropped zones, windows per split and those a missing count removed."""
        return self.root / "artifacts" / "features" / "summary.json"

    @property
    def windows(self) -> Path:
        return self.root / "artifacts" / "features" / "windows.parquet"

    def model_dir(self, model: str) -> Path:
        return self.root / "models" / model

    def metric(self, name: str) -> Path:
        """One measure of every forecaster (:data:`METRIC_FILES`): what ``dvc metrics show`` lists."""
        if name not in METRIC_FILES:
            raise ValueError(f"not a metrics file: {name!r} (one of {METRIC_FILES})")
        return self.root / "metrics" / f"{name}.json"

    @property
    def per_zone(self) -> Path:
        return self.root / "metrics" / "per_zone.json"

    @property
    def coverage_groups(self) -> Path:
        """Each calibrated model's coverage per calendar group (weekday, weekend, holiday) beside the overall."""
        return self.root / "metrics" / "coverage_groups.json"

    @property
    def details(self) -> Path:
        """Windows scored, per-lead errors, coverage per lead and zone, ridge's penalty, privacy."""
        return self.root / "metrics" / "details.json"

    @property
    def leads(self) -> Path:
        """Test RMSE per lead time per forecaster (``dvc plots show``)."""
        return self.root / "plots" / "leads.json"

    @property
    def plots_dir(self) -> Path:
        return self.root / "plots"

    @property
    def promotions(self) -> Path:
        """Every champion decision, one JSON line each, beside the MLflow store."""
        return (self.tracking_root or self.root) / "promotions.jsonl"

    @property
    def promotion_metrics(self) -> Path:
        """The last registration's decisions, per model (what ``dvc metrics show`` lists)."""
        return self.root / "metrics" / "promotion.json"

    @property
    def mlflow_db(self) -> Path:
        return (self.tracking_root or self.root) / "mlflow.db"

    @property
    def mlflow_artifacts(self) -> Path:
        return (self.tracking_root or self.root) / "mlartifacts"
