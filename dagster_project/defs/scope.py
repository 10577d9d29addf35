"""Which data set a graph of assets serves.

Every data set declared in ``datasets/`` gets the whole pipeline as one graph of assets.
The project's data set (the one ``params.yaml`` names) keeps the plain keys and the
groups ``data``, ``training``, ``evaluation`` and ``registry``: its files are the DVC
workspace's and each asset records its stage in ``dvc.lock``. Each other data set's graph
has its keys prefixed by its name and sits in one group of that name, writes under
``artifacts/datasets/<name>/`` (tracked in the project's MLflow store, charged to that data
set's own privacy ledger), and is not recorded in DVC, whose workspace holds one data set at a time
(``dvc exp run -S dataset=<name>`` is its way to the others).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from dpforecast.config import load_params
from dpforecast.data.spec import available


@dataclass(frozen=True)
class Scope:
    dataset: str | None = None  # None: the project's data set, whatever params.yaml names

    def key(self, name: str) -> dg.AssetKey:
        return dg.AssetKey([self.dataset, name] if self.dataset else [name])

    def group(self, group: str) -> str:
        return self.dataset or group

    def name(self, name: str) -> str:
        """A job, sensor or schedule name: the project's as it is, another's prefixed."""
        return f"{self.dataset}_{name}" if self.dataset else name


PROJECT = Scope()


def other_datasets(root: Path) -> list[str]:
    """The data sets of ``root/datasets`` other than the one ``params.yaml`` names."""
    project = load_params(root / "params.yaml").dataset
    return [name for name in available(root) if name != project]


def in_project_graph(asset: dg.AssetsDefinition) -> bool:
    """True for the assets of the project's data set (unprefixed keys)."""
    return all(len(key.path) == 1 for key in asset.keys)


# The project's data set's groups run by their own jobs, never by ``full_pipeline``.
STUDY_GROUPS = ("backtest",)


def project_graph(defs: dg.Definitions) -> list:
    """The project's data set's unpartitioned assets and their checks, less the study groups'
    (what ``full_pipeline`` runs)."""
    assets = [a for a in defs.assets if a.partitions_def is None and in_project_graph(a)
              and not set(a.group_names_by_key.values()) & set(STUDY_GROUPS)]
    checks = [c for c in defs.asset_checks if all(len(k.asset_key.path) == 1 for k in c.check_keys)]
    return [*assets, *checks]
