"""A new data set's spec, drafted from its file alone, with a comment on every inference.

:func:`draft_spec` reads the file's shape (:mod:`dpforecast.data.file_shape`), then its
times as the pipeline will read them (:mod:`dpforecast.data.timestamps`, through the
draft itself), and from them the interval, the time zone
(:mod:`dpforecast.data.zone_offsets`), the clock (:mod:`dpforecast.data.clock_inference`),
the zones, a hierarchy where one zone is the sum of the others, the empty counts and the
holes. The licence, the citation and how many counts one person can be in cannot be read
from counts: they are marked CHECK. The draft is a starting point to edit, not a
declaration: ``dpforecast datasets add`` writes it and validates the file against it.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from dpforecast.data.clock import Clock
from dpforecast.data.clock_inference import InferredClock, infer_clock
from dpforecast.data.file_shape import FileShape, read_shape, sum_of_others
from dpforecast.data.schema import ROW
from dpforecast.data.spec import Layout, spec_from_dict
from dpforecast.data.time_formats import ISO8601, ISO_OFFSET
from dpforecast.data.timestamps import instants, skipped_local
from dpforecast.data.zone_offsets import InferredTimezone, infer_timezone, written_minutes
from dpforecast.errors import DataFileError

_T, _MINUTES, _ZONE, _COUNT, _SKIPPED = "_instant", "_minutes", "_zone", "_count", "_skipped"
_WIDTH = 112
_CHECK_PRIVACY = ("CHECK: assumed, not read from the file. A person is counted at most once per interval, in one "
                  "zone (zones are disjoint and nobody is counted twice in one); a zone inside another, or a sensor "
                  "one person can pass several times, needs contains or a larger counts_per_person (README, Privacy)")


@dataclass(frozen=True)
class Finding:
    """One inference: the spec key, the value written for it, and what it was read from."""

    key: str
    value: str
    why: str


@dataclass(frozen=True)
class SpecDraft:
    """The spec's YAML with its comments, each inference in order, and the time zone and
    clock inferences (a local clock is declared with ``interval_clock: local``)."""

    name: str
    text: str
    findings: tuple[Finding, ...]
    timezone: InferredTimezone
    clock: InferredClock


@dataclass(frozen=True)
class _Times:
    """A file's distinct instants, sorted, in the data set's zone, and its steps in minutes."""

    stamps: pl.Series
    steps: list[int]


def zone_ids(names: tuple[str, ...]) -> list[str]:
    """Short ids (a lower-case letter, then letters, digits and _) for zones named as in
    the file: ``1 Courthouse Lane`` is ``z1_courthouse_lane``; repeats get a suffix."""
    ids: list[str] = []
    for name in names:
        base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:30] or "zone"
        base = base if base[0].isalpha() else f"z{base}"
        candidate, k = base, 2
        while candidate in ids or candidate == "timestamp":
            candidate, k = f"{base[:28]}_{k}", k + 1
        ids.append(candidate)
    return ids


def _layout_keys(layout: Layout) -> dict[str, Any]:
    """The layout's keys that differ from the defaults (kind and columns always)."""
    keys: dict[str, Any] = {}
    for f in fields(Layout):
        value = getattr(layout, f.name)
        if f.name == "kind" or value != f.default or (f.name == "timestamp_format" and layout.timestamp):
            keys[f.name] = list(value) if isinstance(value, tuple) else value
    return keys


def _document(name: str, raw_path: str, shape: FileShape, interval: int, timezone: str,
              zones: list[dict[str, str]], extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "title": f"{name} counts of people",
        "source": {"license": "unknown", "citation": f"{raw_path} (cite its publisher)", "url": ""},
        "files": {"raw": raw_path},
        "layout": _layout_keys(shape.layout),
        "interval_minutes": interval,
        "timezone": timezone,
        "zones": zones,
        **({"total": shape.total} if shape.total else {}),
        "privacy": {"counts_per_person": 1, "reason": "assumed"},
        "protocol": {"test_days": 7, "validation_days": 7, "history_days": None},
        **extra,
    }


def _counts(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.replace(r"\.0+$", "").cast(pl.Int64, strict=False)


def _times(stamps: pl.Series) -> _Times:
    stamps = stamps.drop_nulls().unique().sort()
    steps = stamps.diff().drop_nulls().dt.total_seconds().to_list()
    return _Times(stamps, [int(s // 60) for s in steps])


def _interval(times: _Times, path: Path) -> tuple[int, str]:
    positive = [s for s in times.steps if s > 0]
    if not positive:
        raise DataFileError(f"{path}: fewer than two distinct times: no interval to read")
    counts = pl.Series(positive).value_counts(sort=True)
    step, n = int(counts[0, 0]), int(counts[0, 1])
    if 1440 % step:
        raise DataFileError(f"{path}: the most common step between times is {step} minutes, which does not divide a "
                            f"day: dpforecast's intervals divide a day (15, 30, 60, 120 minutes...)")
    return step, f"the most common step between times: {n:,} of {len(positive):,}"


def _yaml(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6, sort_keys=False)
    return text.strip().removesuffix("...").strip()


def _line(indent: str, key: str, value: Any, why: str = "") -> list[str]:
    """``key: value`` with its reason as a comment, beside it or above it where long."""
    line = f"{indent}{key}: {_yaml(value)}"
    if isinstance(value, str) and len(line) > _WIDTH:  # folded: one paragraph over several lines
        line = "\n".join([f"{indent}{key}: >-", *textwrap.wrap(value, _WIDTH, initial_indent=f"{indent}  ",
                                                                 subsequent_indent=f"{indent}  ")])
    if not why:
        return [line]
    if len(line) + len(why) + 5 <= _WIDTH:
        return [f"{line}   # {why}"]
    return [*(f"{indent}# {part}" for part in textwrap.wrap(why, _WIDTH - len(indent) - 2)), line]


def _comment(text: str) -> list[str]:
    return [f"# {part}" for part in textwrap.wrap(text, _WIDTH - 2)]


def draft_spec(path: Path, name: str, raw_path: str) -> SpecDraft:
    """The spec of the counts in ``path`` (at ``raw_path`` relative to the project root)
    as data set ``name``, drafted from the file alone."""
    where = f"datasets/{name}.yaml"
    shape, raw = read_shape(path)
    lay = shape.layout
    ids = zone_ids(shape.zones)
    source_key = "column" if lay.kind == "wide" else "value"
    zones = [{"id": i, "name": z, source_key: z} for i, z in zip(ids, shape.zones)]
    findings = [Finding("layout", lay.kind, "; ".join(shape.findings))]

    # The times as the pipeline reads them, first on UTC to find the interval and the zone.
    iso = bool(lay.timestamp) and lay.timestamp_format == ISO8601
    written = written_minutes(pl.col(lay.timestamp).str.strip_chars().str.extract(ISO_OFFSET, 1)) if iso else None
    first = raw.select(instants(spec_from_dict(_document(name, raw_path, shape, 60, "UTC", zones, {}), where)).alias(_T),
                       (written if written is not None else pl.lit(None, pl.Int64)).alias(_MINUTES))
    if first[_T].null_count() == first.height:
        raise DataFileError(f"{path}: no time could be read as {lay.time_columns()}")
    utc_times = _times(first[_T])
    interval, interval_why = _interval(utc_times, path)
    findings.append(Finding("interval_minutes", str(interval), interval_why))
    offsets = first.drop_nulls(_T).unique(_T).sort(_T)
    has_offsets = offsets[_MINUTES].drop_nulls().len() > 0
    timezone = infer_timezone(offsets[_T], offsets[_MINUTES] if has_offsets else None,
                              [name, path.stem, path.parent.name])
    findings.append(Finding("timezone", timezone.timezone, timezone.why))

    # Read again on the data set's clock: holes, repeated and skipped times, counts.
    spec = spec_from_dict(_document(name, raw_path, shape, interval, timezone.timezone, zones, {}), where)
    if lay.kind == "wide":
        count_exprs = [_counts(z).alias(z) for z in shape.zones]
    else:
        count_exprs = [pl.col(str(lay.zone)).str.strip_chars().alias(_ZONE), _counts(str(lay.count)).alias(_COUNT)]
    cells = raw.select(ROW, instants(spec).alias(_T), skipped_local(spec).alias(_SKIPPED), *count_exprs)
    read = cells.drop_nulls(_T)
    times = _times(read[_T])
    if has_offsets and timezone.candidates:
        wall = times.stamps.dt.replace_time_zone(None)
        clock = infer_clock(times.stamps.dt.convert_time_zone("UTC"), wall, timezone.timezone, interval)
    else:
        clock = InferredClock("absolute", "the times carry no UTC offset to compare with the local clock: "
                                          "real time assumed")
    findings.append(Finding("clock", clock.kind, clock.why))

    if lay.kind == "wide":
        table = read.select(_T, *shape.zones)
        repeated = read.height - times.stamps.len()
        empty = sum(table[z].null_count() for z in shape.zones)
        empty_why = f"{empty:,} empty count(s)"
    else:
        read = read.filter(pl.col(_ZONE).is_not_null())
        table = read.pivot(on=_ZONE, index=_T, values=_COUNT, aggregate_function="first")
        table = table.select(_T, *(pl.col(z) if z in table.columns else pl.lit(None, pl.Int64).alias(z)
                                   for z in shape.zones))
        repeated = 0
        twice = int(read.select(_T, _ZONE).is_duplicated().sum())
        if twice:
            findings.append(Finding("(file)", f"{twice} rows", "repeat a zone at a time it already has: validation "
                                                               "refuses them; remove the repeats"))
        blank = int(read[_COUNT].null_count())
        absent = times.stamps.len() * len(shape.zones) - read.select(_T, _ZONE).n_unique()
        empty = blank + absent
        empty_why = f"{blank:,} empty count cell(s) and {absent:,} zone-time(s) with no row"
    extra: dict[str, Any] = {}
    notes: dict[str, str] = {}
    if empty:
        extra["missing_values"] = "gap"
        notes["missing_values"] = f"{empty_why}: missing, never filled; a window touching one is dropped"
    silent = [z for z, i in zip(shape.zones, ids) if table[z].null_count() == table.height]
    if silent:
        extra["empty_zones"] = "drop"
        notes["empty_zones"] = f"no count at all for {', '.join(map(repr, silent))}: left out of the models"
    skipped = int(cells[_SKIPPED].sum())
    if skipped:
        extra["nonexistent_times"] = "gap"
        notes["nonexistent_times"] = f"{skipped} row(s) at a local time {timezone.timezone} skips: read as gaps"
    if repeated:
        extra["duplicate_times"] = "gap"
        notes["duplicate_times"] = f"{repeated} row(s) repeat a time: every row of a repeated time is a gap"
    holes = [(i, s) for i, s in enumerate(_grid_steps(times, timezone.timezone, interval, clock)) if s != interval]
    missing = sum(s // interval - 1 for _, s in holes if s % interval == 0 and s > interval)
    off_grid = [(i, s) for i, s in holes if s % interval or s <= 0]
    if missing:
        extra["undeclared_gaps"] = "gap"
        notes["undeclared_gaps"] = (f"{missing:,} interval(s) absent from the file in "
                                    f"{sum(1 for _, s in holes if s % interval == 0 and s > interval)} hole(s): "
                                    f"read as gaps (or declare each in declared_gaps)")
    if off_grid:
        i, s = off_grid[0]
        findings.append(Finding("(file)", f"{len(off_grid)} step(s)", f"off the {interval}-minute grid, first "
                                                                        f"{s} minutes after {times.stamps[i]}: "
                                                                        f"validation names their lines"))
    first_seen = read[_T].unique(maintain_order=True)
    if not first_seen.equals(first_seen.sort()):
        findings.append(Finding("(file)", "rows out of time order", "validation reads the times in the order they "
                                                                     "first appear and refuses one earlier than the "
                                                                     "one before: sort the file by time"))
    parent = sum_of_others(table, list(shape.zones))
    parent_id = ids[shape.zones.index(parent)] if parent else None
    days = (times.stamps[-1] - times.stamps[0]).days + 1
    test = 7 if days >= 28 else max(1, days // 4)
    doc = _document(name, raw_path, shape, interval, timezone.timezone, zones, extra)
    doc["title"] = (f"{name}, {len(zones)} zone(s), {interval}-minute counts, {times.stamps[0]:%Y-%m-%d} to "
                    f"{times.stamps[-1]:%Y-%m-%d}")
    doc["protocol"] = {"test_days": test, "validation_days": test, "history_days": None}
    if parent_id:
        others = [i for i in ids if i != parent_id]
        doc["privacy"] = {"contains": {parent_id: others},
                          "reason": f"{parent_id} is the sum of the other zones on every row: a person in one of "
                                    f"them during an interval is counted there and in {parent_id}, in at most two "
                                    f"counts (CHECK that the others are disjoint)"}
        findings.append(Finding("privacy", f"contains {parent_id}", f"{parent!r} is the sum of the other zones on "
                                                                    f"every row where all are counted"))
    else:
        doc["privacy"] = {"counts_per_person": 1, "reason": _CHECK_PRIVACY}
        findings.append(Finding("privacy", "counts_per_person: 1", "CHECK: assumed (disjoint zones), not read"))
    findings.append(Finding("zones", str(len(zones)), ", ".join(ids[:6]) + (" ..." if len(ids) > 6 else "")))
    findings += [Finding(k, str(extra[k]), notes[k]) for k in notes]
    findings.append(Finding("protocol", f"test {test} d, validation {test} d", f"of {days} days; all history"))
    text = _text(doc, name, raw_path, shape, timezone, clock, interval_why, notes)
    spec_from_dict(yaml.safe_load(text), where)  # never write a spec the pipeline would refuse
    return SpecDraft(name, text, tuple(findings), timezone, clock)


def _grid_steps(times: _Times, timezone: str, interval: int, clock: InferredClock) -> list[int]:
    """The file's steps in minutes of its clock: real time, or on a local clock the number
    of local-clock intervals between two times on its grid, times the interval (a 3-hour
    interval at a change of time is one step of 120 there)."""
    if clock.kind == "absolute":
        return times.steps
    at = Clock(interval, timezone, local=True).positions(times.stamps.dt.convert_time_zone(timezone))
    slots, on_grid = np.diff(at.index), at.on_grid[:-1] & at.on_grid[1:]
    return [int(k) * interval if ok else s for k, ok, s in zip(slots, on_grid, times.steps, strict=True)]


def _clock_lines(clock: InferredClock) -> list[str]:
    """What the spec says of the clock: nothing for real time (the default); for a local
    clock, ``interval_clock: local`` and the evidence."""
    if clock.kind == "absolute":
        return []
    return _line("", "interval_clock", "local", f"CLOCK: {clock.why}")


def _text(doc: dict[str, Any], name: str, raw_path: str, shape: FileShape, timezone: InferredTimezone,
          clock: InferredClock, interval_why: str, notes: dict[str, str]) -> str:
    """The spec as YAML, with what each value was read from beside it."""
    lay = doc["layout"]
    lines = [
        "# yaml-language-server: $schema=../docs/schema/spec.schema.json",
        *_comment(f"Drafted by `dpforecast datasets add {name} {raw_path}` from the file alone. Check every value, "
                  f"CHECK first: a file cannot say its licence, its citation or how many counts one person can be "
                  f"in. Every key: docs/reference.md."),
        f"name: {name}",
        *_line("", "title", doc["title"]),
        "source:   # CHECK: the data's licence (SPDX id), how to cite it, where it is published",
        *_line("  ", "license", doc["source"]["license"]),
        *_line("  ", "citation", doc["source"]["citation"]),
        *_line("  ", "url", ""),
        "files:",
        *_line("  ", "raw", raw_path),
        *_comment("; ".join(shape.findings)),
        "layout:",
        *(row for key, value in lay.items() for row in _line("  ", key, value)),
        *_line("", "interval_minutes", doc["interval_minutes"], interval_why),
        *_line("", "timezone", doc["timezone"], timezone.why),
        *_clock_lines(clock),
        f"zones:   # {len(doc['zones'])}; id: the pipeline's short id (edit freely), name: shown in reports",
        *(f"  - {_yaml(z)}" for z in doc["zones"]),
        *(_line("", "total", doc["total"], "the sum of the zones: checked on every row, then dropped")
          if "total" in doc else []),
        "privacy:",
        *(_line("  ", "contains", doc["privacy"]["contains"]) if "contains" in doc["privacy"] else
          _line("  ", "counts_per_person", 1)),
        *_line("  ", "reason", doc["privacy"]["reason"]),
        "protocol:   # the honest evaluation: the last test_days are never fitted on",
        *_line("  ", "test_days", doc["protocol"]["test_days"]),
        *_line("  ", "validation_days", doc["protocol"]["validation_days"]),
        *_line("  ", "history_days", None, "all of it"),
        *(row for key in notes for row in _line("", key, doc[key], notes[key])),
    ]
    return "\n".join(lines) + "\n"
