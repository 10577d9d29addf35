"""New deliveries: each file in the spec's ``files.incoming`` is accepted as an increment or refused.

A delivery is one operator CSV (normally one day). It is accepted only if it passes the
raw-data suite on its own (so errors name its own lines) and the concatenation of the
accepted data and this file passes too (no overlap, no hole, right order). Accepted
files are copied into ``files.increments`` and never modified again; a refused file
moves to ``files.rejected`` beside a Markdown report of why. Files are taken in name
order and processing stops at the first refusal: later days would not follow on.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from dpforecast.config import Params
from dpforecast.data.ingest import increments, read_raw_files
from dpforecast.errors import ConfigError
from dpforecast.runtime.io import atomic_path, write_text
from dpforecast.validation import validate_csv, validate_raw


@dataclass(frozen=True)
class Arrival:
    name: str
    accepted: bool
    message: str
    report: Path | None = None


def pending(root: Path, params: Params) -> list[Path]:
    folder = root / params.data_set.incoming
    return sorted(folder.glob("*.csv")) if folder.is_dir() else []


def _refuse(root: Path, params: Params, path: Path, message: str, summary: str) -> Arrival:
    folder = root / params.data_set.rejected
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / f"{path.name}.md"
    write_text(report, summary)
    shutil.move(str(path), folder / path.name)
    return Arrival(path.name, False, message, report)


def process_incoming(root: Path, params: Params) -> list[Arrival]:
    """Accept or refuse every pending delivery, in name order, stopping at the first refusal."""
    arrivals: list[Arrival] = []
    spec = params.data_set
    waiting = pending(root, params)
    if spec.increments is None:
        if waiting:
            raise ConfigError(f"{spec.path}: files.increments is not declared, so this data set takes no "
                              f"deliveries; {len(waiting)} file(s) wait in {root / spec.incoming}")
        return []
    increments_dir = root / spec.increments
    # A delivery holds any number of rows: the data set's minimum applies to the whole.
    alone = replace(params, validate=replace(params.validate, min_rows=1))
    for path in waiting:
        if (increments_dir / path.name).exists():
            arrivals.append(_refuse(root, params, path, f"{path.name}: a delivery of that name was already accepted",
                                    f"# Refused: {path.name}\n\nA delivery of that name was already accepted.\n"))
            break
        report = validate_csv(path, alone)
        rows = report.rows
        if report.passed:
            sources = [root / spec.raw, *increments(increments_dir), path]
            report = validate_raw(read_raw_files(sources, spec.layout.delimiter), params,
                                  source=f"the accepted data followed by {path.name}")
        if not report.passed:
            arrivals.append(_refuse(root, params, path, report.message(), report.summary_markdown()))
            break
        with atomic_path(increments_dir / path.name) as tmp:
            shutil.copyfile(path, tmp)
        path.unlink()
        arrivals.append(Arrival(path.name, True, f"{path.name}: {rows} rows accepted"))
    return arrivals
