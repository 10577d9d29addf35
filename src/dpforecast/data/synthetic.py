"""Synthetic people counts, and the CSV and spec that declare them as a data set.

The real data set has six zones and ten weeks; tests, examples and the city-scale
benchmark need series of any size (thousands of zones, a year of intervals) that look
like presence counts: local wall-clock daily and weekly routines, zones of very
different sizes, day-to-day and per-interval noise, optional stretches of missing
readings, and optionally a total zone containing all the others. :func:`generate`
builds them vectorised in numpy (float32, a block of zones at a time); :func:`write`
writes them as a wide or long CSV with a ``datasets/<name>.yaml`` spec that
:func:`dpforecast.data.spec.spec_from_dict` accepts, so they go through the same
pipeline as a city's own delivery.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import yaml

from dpforecast.data.clock import Clock
from dpforecast.data.spec import spec_from_dict

TIMESTAMP = "timestamp"
ISO_FORMAT = "%Y-%m-%dT%H:%M:%S%:z"
LONG_COLUMNS = ("unique_id", "ds", "y")
_BLOCK = 128  # zones generated (and unpivoted when writing long) at a time
_NOISE = 0.08  # per-interval multiplicative noise (coefficient of variation)
_DAY_NOISE = 0.10  # per-zone, per-local-day level noise (log scale)


def zone_ids(zones: int) -> list[str]:
    width = max(4, len(str(zones)))
    return [f"z{i:0{width}d}" for i in range(1, zones + 1)]


def _grid(days: int, clock: Clock, start: str) -> pl.Series:
    """``days`` days of interval starts from local ``start``, shown in the clock's zone:
    UTC instants at a fixed step on an absolute clock (so a DST day has 46 or 50 half
    hours of wall clock), the local clock's starts on a local one (so a DST day has one
    longer or shorter interval, or fewer)."""
    if clock.interval_minutes < 1 or 1440 % clock.interval_minutes:
        raise ValueError(f"interval_minutes must divide a day, got {clock.interval_minutes}")
    first = datetime.fromisoformat(start)
    if first.tzinfo is None:
        first = first.replace(tzinfo=ZoneInfo(clock.timezone))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    first_us = (first - epoch) // timedelta(microseconds=1)
    if clock.local:
        day = first.astimezone(ZoneInfo(clock.timezone)).date()
        starts = clock.starts(day, day + timedelta(days=days - 1))
        us = starts[(starts >= first_us)][:-1]
    else:
        rows = days * 1440 // clock.interval_minutes
        us = first_us + np.arange(rows, dtype=np.int64) * (clock.interval_minutes * 60_000_000)
    return pl.Series(TIMESTAMP, us).cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(clock.timezone)


def _profiles(stamps: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Work and home presence shapes by local wall-clock time and weekday, and the local
    day index of every interval (for day-level noise)."""
    hour = (stamps.dt.hour().to_numpy() + stamps.dt.minute().to_numpy() / 60.0).astype(np.float32)
    weekend = stamps.dt.weekday().to_numpy() >= 6  # ISO weekday: 6, 7 = Saturday, Sunday
    day = stamps.dt.date().to_physical().to_numpy()
    day = (day - day.min()).astype(np.int64)
    # Offices and shops: a plateau 08:30-18:30, a lunch bump; a quarter of it at weekends.
    work = 0.08 + 1.0 / (1 + np.exp(-(hour - 8.5) * 2.0)) / (1 + np.exp((hour - 18.5) * 1.5))
    work += 0.25 * np.exp(-(((hour - 12.75) / 1.2) ** 2))
    work = np.where(weekend, 0.08 + 0.25 * (work - 0.08), work)
    # Homes: full at night, emptiest mid-afternoon; fuller at weekends.
    home = 0.65 + 0.35 * np.cos(2 * np.pi * (hour - 2.5) / 24)
    home = np.where(weekend, 0.2 + 0.85 * home, home)
    return work.astype(np.float32), home.astype(np.float32), day


def generate(
    zones: int,
    days: int,
    interval_minutes: int = 30,
    start: str = "2024-01-01",
    timezone: str = "Europe/Paris",
    seed: int = 0,
    missing_stretches: int = 0,
    hierarchy: bool = True,
    interval_clock: str = "absolute",
) -> pl.DataFrame:
    """A wide frame: ``timestamp`` (aware, in ``timezone``) and one Int64 column per zone,
    ``z0001``...; with ``hierarchy``, ``z0001`` is the total of the ``zones - 1`` others.
    ``interval_clock`` ``local``: intervals on the local clock, a change of time's longer
    or shorter one counting people for as long as it lasts.

    Mean counts mix a work and a home routine (per-zone share) times a log-normal zone
    size; a log-normal day level per zone and Gaussian noise (Poisson variance plus
    :data:`_NOISE` multiplicative) follow, rounded and clipped at zero. The total is
    summed from the leaves' counts before any reading goes missing: a missing stretch
    hides a reading, not the people, so the total stays whole where a leaf is null.
    """
    if hierarchy and zones < 2:
        raise ValueError("a hierarchy needs at least two zones (the total and one leaf)")
    if zones < 1 or days < 1 or missing_stretches < 0:
        raise ValueError("zones and days must be at least 1, missing_stretches at least 0")
    rng = np.random.default_rng(seed)
    if interval_clock not in ("absolute", "local"):
        raise ValueError(f"interval_clock must be absolute or local, got {interval_clock!r}")
    clock = Clock(interval_minutes, timezone, interval_clock == "local")
    stamps = _grid(days, clock, start)
    work, home, day = _profiles(stamps)
    # People counted for as long as the interval lasts (exactly 1 on an absolute clock).
    length = (clock.durations(stamps) / interval_minutes).astype(np.float32)
    rows, ids = stamps.len(), zone_ids(zones)
    leaves = ids[1:] if hierarchy else ids
    scale = rng.lognormal(np.log(120.0), 1.0, len(leaves)).astype(np.float32)
    share = rng.beta(2.0, 2.0, len(leaves)).astype(np.float32)
    columns: dict[str, np.ndarray] = {}
    total = np.zeros(rows, dtype=np.int64)
    for lo in range(0, len(leaves), _BLOCK):
        hi = min(lo + _BLOCK, len(leaves))
        a, b = (scale[lo:hi] * share[lo:hi])[:, None], (scale[lo:hi] * (1 - share[lo:hi]))[:, None]
        level = rng.lognormal(0.0, _DAY_NOISE, (hi - lo, int(day[-1]) + 1)).astype(np.float32)
        mean = (a * work + b * home) * level[:, day] * length
        sd = np.sqrt(mean + (_NOISE * mean) ** 2)
        counts = mean + sd * rng.standard_normal(mean.shape, dtype=np.float32)
        block = np.maximum(np.rint(counts, out=counts), 0, out=counts).astype(np.int64)
        if hierarchy:
            total += block.sum(axis=0)
        columns.update(zip(leaves[lo:hi], block, strict=True))
    if hierarchy:
        columns = {ids[0]: total, **columns}
    frame = pl.DataFrame({TIMESTAMP: stamps, **columns})
    return _blank_stretches(frame, ids, missing_stretches, interval_minutes, rng)


def _blank_stretches(
    frame: pl.DataFrame, ids: list[str], stretches: int, interval_minutes: int, rng: np.random.Generator
) -> pl.DataFrame:
    """Null ``stretches`` runs of a random zone, 2 hours to 3 days long (log-uniform),
    never more than a quarter of the series."""
    if not stretches:
        return frame
    rows = frame.height
    hours = np.exp(rng.uniform(np.log(2.0), np.log(72.0), stretches))
    lengths = np.clip(np.rint(hours * 60 / interval_minutes).astype(np.int64), 1, max(1, rows // 4))
    starts = (rng.random(stretches) * (rows - lengths + 1)).astype(np.int64)
    which = rng.integers(0, len(ids), stretches)
    masks: dict[str, np.ndarray] = {}
    for z, s, n in zip(which, starts, lengths, strict=True):
        masks.setdefault(ids[z], np.zeros(rows, dtype=bool))[s : s + n] = True
    return frame.with_columns(pl.when(pl.Series(m)).then(None).otherwise(pl.col(z)).alias(z) for z, m in masks.items())


def _atomic(path: Path, write: Any) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_long(frame: pl.DataFrame, ids: list[str], path: Path) -> None:
    # Times formatted once, not once per zone: the long file repeats them for every zone.
    stamps = frame[TIMESTAMP].dt.strftime(ISO_FORMAT).alias(LONG_COLUMNS[1])
    with path.open("wb") as f:
        f.write((",".join(LONG_COLUMNS) + "\n").encode())
        for lo in range(0, len(ids), _BLOCK):
            part = frame.select(stamps, *ids[lo : lo + _BLOCK]).unpivot(
                index=LONG_COLUMNS[1], variable_name=LONG_COLUMNS[0], value_name=LONG_COLUMNS[2]
            )
            part.select(LONG_COLUMNS).write_csv(f, include_header=False)


def _is_hierarchy(frame: pl.DataFrame, ids: list[str]) -> bool:
    """``ids[0]`` equals the sum of the others on every row where all of them are read."""
    if len(ids) < 2:
        return False
    complete = frame.select(ids).drop_nulls()
    return complete.height > 0 and (complete[ids[0]] == complete.select(pl.sum_horizontal(ids[1:]))[:, 0]).all()


def spec_dict(
    frame: pl.DataFrame, name: str, raw: str, layout: str = "wide", seed: int = 0, hierarchy: bool | None = None,
    interval_clock: str = "absolute",
) -> dict[str, Any]:
    """The spec of a generated frame written at ``raw`` (relative to the project root).
    ``hierarchy`` None: detected (the first zone is the sum of the others). The interval
    is the frame's most common step (a local clock's change of time steps otherwise)."""
    if layout not in ("wide", "long"):
        raise ValueError(f"layout must be wide or long, got {layout!r}")
    stamps = frame[TIMESTAMP]
    ids = [c for c in frame.columns if c != TIMESTAMP]
    if hierarchy is None:
        hierarchy = _is_hierarchy(frame, ids)
    steps = stamps.diff().drop_nulls()
    interval = int(steps.mode().min().total_seconds() // 60) if frame.height > 1 else 1440
    key = "column" if layout == "wide" else "value"
    first, last = stamps[0].date(), stamps[-1].date()
    if hierarchy:
        privacy: dict[str, Any] = {
            "contains": {ids[0]: ids[1:]},
            "reason": f"{ids[0]} is the total of the other zones, which are disjoint: a person present "
            f"in one of them during an interval is counted there and in {ids[0]}, in at most two counts.",
        }
    else:
        reason = "the zones are disjoint: a person is in at most one zone during an interval."
        privacy = {"counts_per_person": 1, "reason": reason}
    has_nulls = any(frame.select(ids).null_count().row(0))
    return {
        "name": name,
        "title": f"Synthetic counts, {len(ids)} zones, {interval} minutes, {first} to {last}",
        "source": {
            "license": "CC0-1.0",
            "citation": f"generated by dpforecast.data.synthetic with seed {seed}",
            "url": "",
        },
        "files": {"raw": raw},
        "layout": (
            {"kind": "wide", "timestamp": TIMESTAMP, "timestamp_format": "iso8601"}
            if layout == "wide"
            else {"kind": "long", "timestamp": LONG_COLUMNS[1], "zone": LONG_COLUMNS[0], "count": LONG_COLUMNS[2]}
        ),
        "interval_minutes": interval,
        "timezone": stamps.dtype.time_zone,  # type: ignore[union-attr]
        **({"interval_clock": interval_clock} if interval_clock != "absolute" else {}),
        "zones": [{"id": z, "name": f"Synthetic zone {z[1:]}", key: z} for z in ids],
        "privacy": privacy,
        "protocol": {"test_days": 7, "validation_days": 7, "history_days": None},
        "missing_values": "gap" if has_nulls else "refuse",
        "undeclared_gaps": "refuse",
        "duplicate_times": "refuse",
        "empty_zones": "refuse",
    }


def write(
    frame: pl.DataFrame,
    folder: Path,
    name: str,
    layout: str = "wide",
    *,
    root: Path,
    spec_dir: Path | None = None,
    seed: int = 0,
    hierarchy: bool | None = None,
    interval_clock: str = "absolute",
) -> tuple[Path, Path]:
    """Write ``<folder>/<name>.csv`` (``wide``: ``timestamp`` then a column per zone;
    ``long``: ``unique_id,ds,y``; ISO 8601 times with offset, empty cells for nulls) and
    its checked spec ``<spec_dir>/<name>.yaml`` (default ``root/datasets``), each
    atomically. ``files.raw`` is the CSV's path relative to ``root``. Returns both paths."""
    folder, root = Path(folder), Path(root)
    spec_dir = Path(spec_dir) if spec_dir is not None else root / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    spec_dir.mkdir(parents=True, exist_ok=True)
    csv, spec_path = folder / f"{name}.csv", spec_dir / f"{name}.yaml"
    raw = Path(os.path.relpath(csv.resolve(), root.resolve())).as_posix()
    spec = spec_dict(frame, name, raw, layout, seed, hierarchy, interval_clock)
    spec_from_dict(spec, str(spec_path))  # refuse to write a spec the pipeline would refuse
    ids = [z["id"] for z in spec["zones"]]
    if layout == "wide":
        _atomic(csv, lambda p: frame.write_csv(p, datetime_format=ISO_FORMAT))
    else:
        _atomic(csv, lambda p: _write_long(frame, ids, p))
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(spec, Dumper=dumper, sort_keys=False, allow_unicode=True, width=120)
    _atomic(spec_path, lambda p: p.write_text(text, encoding="utf-8"))
    return csv, spec_path
