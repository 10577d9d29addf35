"""Stage ``accept``: take new deliveries from the spec's ``files.incoming`` and version the result.

Accepted files become increments (:mod:`dpforecast.stages.arrivals`); if any was accepted
and the root is a DVC repository, ``dvc add`` records the new data version, which every
later run carries in its lineage. A refused file leaves the data version unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dpforecast.config import Params
from dpforecast.data.versioning import commit_data, dvc_md5, is_dvc_repo
from dpforecast.stages.arrivals import Arrival, process_incoming


@dataclass(frozen=True)
class Acceptance:
    arrivals: list[Arrival]
    data_version: str | None
    versioned: bool  # False: not a DVC repository, the new data has no DVC version

    @property
    def refused(self) -> list[Arrival]:
        return [a for a in self.arrivals if not a.accepted]

    @property
    def accepted(self) -> list[Arrival]:
        return [a for a in self.arrivals if a.accepted]


def accept(root: Path, params: Params) -> Acceptance:
    arrivals = process_incoming(root, params)
    versioned = is_dvc_repo(root)
    if versioned and any(a.accepted for a in arrivals):
        return Acceptance(arrivals, commit_data(root), True)
    return Acceptance(arrivals, dvc_md5(root), versioned)
