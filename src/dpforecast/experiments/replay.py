"""Simulate deliveries on the real series, so the retraining loop can be shown and tested.

``init_replay`` makes a demo project (git + DVC) whose base file is the real series
without its last ``days`` days; those days wait in ``replay/`` as one CSV each, in the data
set's layout. ``deliver_next`` moves the next one into the spec's ``files.incoming``, where the Dagster sensor sees
it; with ``corrupt`` it delivers a copy with one negative count instead (refused by
validation) and keeps the good file for the next delivery.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

from dpforecast.config import load_params
from dpforecast.data.spec import DatasetSpec
from dpforecast.data.versioning import run_dvc
from dpforecast.runtime.io import write_text
from dpforecast.runtime.project import project_root

REPLAY = "replay"


def _split_by_day(raw_csv: Path, spec: DatasetSpec) -> tuple[str, dict[str, list[str]]]:
    """The header line, and the data lines by the date of their time cell (the spec's date
    column, or the first ten characters of its timestamp), verbatim."""
    lines = raw_csv.read_text().splitlines(keepends=True)
    header = next(csv.reader(io.StringIO(lines[0]), delimiter=spec.layout.delimiter))
    column = header.index(spec.layout.timestamp or spec.layout.date)
    by_day: dict[str, list[str]] = {}
    for line in lines[1:]:
        day = next(csv.reader(io.StringIO(line), delimiter=spec.layout.delimiter))[column][:10]
        by_day.setdefault(day, []).append(line)
    return lines[0], by_day


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=dpforecast replay", "-c", "user.email=replay@dpforecast.invalid", *args],
                   cwd=root, check=True, capture_output=True, text=True)


def init_replay(demo: Path, days: int, source: Path | None = None) -> list[str]:
    """Create the demo project at ``demo``; return the held-back days in delivery order."""
    source = (source or project_root()).resolve()
    demo = Path(demo).resolve()
    if days < 1:
        raise ValueError("replay: --days must be at least 1")
    if demo.exists() and any(demo.iterdir()):
        raise FileExistsError(f"replay: {demo} exists and is not empty")
    params = load_params(source / "params.yaml")
    raw = source / params.data_set.raw
    header, by_day = _split_by_day(raw, params.data_set)
    ordered = sorted(by_day)
    if days >= len(ordered):
        raise ValueError(f"replay: the series has {len(ordered)} days; cannot hold back {days}")
    kept, held = ordered[:-days], ordered[-days:]
    base = demo / params.data_set.raw
    base.parent.mkdir(parents=True)
    write_text(base, header + "".join(line for day in kept for line in by_day[day]))
    for extra in ("LICENSE.upstream", "README.md"):
        if (raw.parent / extra).is_file():
            shutil.copyfile(raw.parent / extra, base.parent / extra)
    for day in held:
        write_text(demo / REPLAY / f"{day}.csv", header + "".join(by_day[day]))
    shutil.copyfile(source / "params.yaml", demo / "params.yaml")
    shutil.copytree(source / "profiles", demo / "profiles")
    shutil.copytree(source / "datasets", demo / "datasets")
    shutil.copyfile(source / ".dvcignore", demo / ".dvcignore")
    write_text(demo / ".gitignore", "/mlflow.db\n/mlartifacts/\n/artifacts/\n/models/\n/metrics/\n/plots/\n/reports/\n"
               "/promotions.jsonl\n/replay/\n/data\n/dagster_home/\n")
    _git(demo, "init", "-q")
    run_dvc(demo, "init", "-q")
    run_dvc(demo, "add", "-q", "data")
    _git(demo, "add", "-A")
    _git(demo, "commit", "-qm", f"replay demo: the series up to {kept[-1]}")
    return held


def deliver_next(demo: Path, corrupt: bool = False) -> str:
    """Move the next held-back day into the spec's ``files.incoming`` (or a corrupted copy of it)."""
    demo = Path(demo).resolve()
    params = load_params(demo / "params.yaml")
    waiting = sorted((demo / REPLAY).glob("*.csv"))
    if not waiting:
        return "replay: nothing left to deliver"
    day = waiting[0]
    target = demo / params.data_set.incoming / day.name
    if corrupt:
        lines = day.read_text().splitlines(keepends=True)
        spec = params.data_set
        sep = spec.layout.delimiter
        first_count = spec.layout.count if spec.layout.kind == "long" else spec.zones[0].source
        cells = lines[10].split(sep)
        at = lines[0].rstrip("\r\n").split(sep).index(first_count)
        cells[at] = "-" + cells[at]  # the first zone's count in the tenth interval
        write_text(target, "".join(lines[:10]) + sep.join(cells) + "".join(lines[11:]))
        return f"delivered a corrupted {day.name} (negative count on line 11) to {target.parent}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(day), target)
    return f"delivered {day.name} to {target.parent}"
