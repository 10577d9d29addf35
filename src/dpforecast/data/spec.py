"""A data set as a declared value: ``datasets/<name>.yaml`` read into :class:`DatasetSpec`.

Everything the pipeline knows about a data set (where its files are, their layout, the
interval, the clock, the zones, how many counts one person can be in, the gaps, the
missing-value policy, the honest evaluation protocol, the licence) comes from this file,
so a city or an operator brings their counts by writing one spec, never by editing code.
Unknown keys and bad values are refused with the spec file and the key's dotted name.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from dpforecast.data.time_formats import ISO8601, format_regexes
from dpforecast.errors import ConfigError

LAYOUTS = ("wide", "long")
COUNT_FORMATS = ("integer", "whole_decimal")
POLICIES = ("refuse", "gap")
AMBIGUOUS = ("earliest", "latest", "refuse")
EMPTY_ZONE_POLICIES = ("refuse", "drop")
_ZONE_ID = re.compile(r"[a-z][a-z0-9_]{0,31}")
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,47}")


@dataclass(frozen=True)
class DeclaredGap:
    """A known hole in the grid: ``missing`` intervals after local time ``after``."""

    after: str
    missing: int
    reason: str = ""


class SpecError(ConfigError):
    """A data set spec is unreadable, has an unknown or missing key, or a bad value."""


@dataclass(frozen=True)
class Zone:
    """A zone: its stable short id (a column of the modelled series), display name, and
    the column (wide) or zone value (long) that holds it in the source file."""

    id: str
    name: str
    source: str


@dataclass(frozen=True)
class Layout:
    """How the source file is laid out.

    ``wide``: one row per interval, the time in ``timestamp`` (or ``date`` + ``time``),
    one column per zone. ``long``: one row per zone and interval, with ``zone`` and
    ``count`` columns (the ``unique_id, ds, y`` convention of forecasting libraries).
    """

    kind: str
    timestamp: str | None = None
    date: str | None = None
    time: str | None = None
    # strftime formats; ``iso8601`` for a timestamp with optional seconds and offset.
    timestamp_format: str = ISO8601
    date_format: str = "%Y-%m-%d"
    time_format: str = "%H:%M:%S"
    # ``6:00-6:59``: the time cell is a range; its start is the interval's start.
    time_is_range: bool = False
    # Some operators' day runs from 06:00 to 05:59: times before this belong to the next date.
    day_starts_at: str = "00:00"
    zone: str | None = None
    count: str | None = None
    # Columns the file has and the pipeline does not use (checked present, never read).
    ignored: tuple[str, ...] = ()
    delimiter: str = ","
    # ``integer`` (94) or ``whole_decimal`` (94.0, a whole number written as a decimal).
    count_format: str = "integer"

    def time_columns(self) -> list[str]:
        return [self.timestamp] if self.timestamp else [self.date, self.time]  # type: ignore[list-item]


@dataclass(frozen=True)
class PrivacyBound:
    """How much one person can change the counts, and for how long they are protected.

    Per interval: derived from ``contains`` (a zone and the zones inside it count the same
    person, once each: presence) or declared as ``counts_per_person`` (e.g. crossings of
    counting lines, which one person may make several times at one sensor). ``per_count``
    is how much one person moves one count: 1 for raw counts, more where counts are
    extrapolated from one operator's subscribers to the population (one subscriber then
    stands for several people). ``protected_period_days`` is a person's protected period,
    the ``person`` unit (w-event over that many days); without it no person-level
    guarantee follows. ``intervals_per_person``, when declared, bounds the intervals one
    person is counted in at all."""

    counts_per_person: int
    reason: str
    contains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    intervals_per_person: int | None = None
    per_count: int = 1
    per_count_reason: str = ""
    protected_period_days: int | None = None

    @property
    def l1_per_interval(self) -> float:
        """The most one person adds to the sum of one interval's counts."""
        return float(self.counts_per_person * self.per_count)

    @property
    def l2_per_interval(self) -> float:
        """The L2 norm of one person's change to one interval's counts: presence changes each
        of its counts by ``per_count`` (``per_count * sqrt(counts)``); declared contributions
        may all fall on one count, so their L2 norm is bounded only by their L1 norm."""
        counts = math.sqrt(self.counts_per_person) if self.contains else float(self.counts_per_person)
        return self.per_count * counts


@dataclass(frozen=True)
class Protocol:
    """The honest evaluation protocol of this data set (``split.*`` null means these)."""

    test_days: int
    validation_days: int
    # Training history before the validation block; None = all of it.
    history_days: int | None = None


@dataclass(frozen=True)
class Source:
    license: str
    citation: str
    url: str = ""
    attribution: str = ""
    license_file: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    source: Source
    raw: str
    layout: Layout
    interval_minutes: int
    timezone: str
    zones: tuple[Zone, ...]
    privacy: PrivacyBound
    protocol: Protocol
    increments: str | None = None
    # Where new deliveries land (the Dagster sensor watches it) and where refused ones go.
    incoming: str = ""
    rejected: str = ""
    total: str | None = None
    # The wall-clock hour repeated at the end of summer time: which reading to keep.
    ambiguous_times: str = "earliest"
    # A local time that does not exist (skipped at the start of summer time).
    nonexistent_times: str = "refuse"
    declared_gaps: tuple[DeclaredGap, ...] = ()
    undeclared_gaps: str = "refuse"
    duplicate_times: str = "refuse"
    missing_values: str = "refuse"
    empty_zones: str = "refuse"
    # MLflow registered models are <registry_prefix>-<arch>[-ip|-gp]; default
    # <registry.name_prefix>-<name>.
    registry_prefix: str | None = None
    path: str = ""

    @property
    def zone_ids(self) -> list[str]:
        return [z.id for z in self.zones]

    @property
    def zone_names(self) -> dict[str, str]:
        return {z.id: z.name for z in self.zones}

    @property
    def steps_per_day(self) -> int:
        return 24 * 60 // self.interval_minutes

    def source_columns(self) -> list[str]:
        """The columns of the source file, in order (the header a delivery must have)."""
        lay = self.layout
        if lay.kind == "long":  # the unique_id, ds, y order of forecasting libraries
            return [lay.zone, *lay.time_columns(), *lay.ignored, lay.count]  # type: ignore[list-item]
        total = [self.total] if self.total else []
        return [*lay.time_columns(), *lay.ignored, *(z.source for z in self.zones), *total]

    def summary(self) -> dict[str, Any]:
        """What the README, reports, MLflow runs and Dagster metadata show of the spec."""
        return {
            "dataset": self.name,
            "title": self.title,
            "zones": len(self.zones),
            "interval_minutes": self.interval_minutes,
            "timezone": self.timezone,
            "license": self.source.license,
            "citation": self.source.citation,
            "source_url": self.source.url,
        }


def _mapping(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: expected a mapping, got {raw!r}")
    return raw


class _Reader:
    """Reads one mapping of the spec, refusing unknown keys and reporting dotted names."""

    def __init__(self, raw: Any, where: str, known: set[str]):
        self.raw = _mapping(raw, where)
        self.where = where
        unknown = sorted(set(map(str, self.raw)) - known)
        if unknown:
            raise SpecError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")

    def key(self, name: str) -> str:
        return f"{self.where}.{name}"

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = ..., choices: tuple = ()) -> Any:
        if name not in self.raw or self.raw[name] is None:
            if default is ...:
                raise SpecError(f"{self.key(name)}: required key is missing")
            return default
        value = self.raw[name]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise SpecError(f"{self.key(name)}: expected {_kind_name(kind)}, got {value!r}")
        if not isinstance(value, kind):
            raise SpecError(f"{self.key(name)}: expected {_kind_name(kind)}, got {value!r}")
        if choices and value not in choices:
            raise SpecError(f"{self.key(name)}: must be one of {', '.join(choices)}, got {value!r}")
        return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "a mapping"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _layout(raw: Any, where: str) -> Layout:
    r = _Reader(raw, where, {f for f in Layout.__dataclass_fields__})
    kind = r.get("kind", str, choices=LAYOUTS)
    layout = Layout(
        kind=kind,
        timestamp=r.get("timestamp", str, None),
        date=r.get("date", str, None),
        time=r.get("time", str, None),
        timestamp_format=r.get("timestamp_format", str, ISO8601),
        date_format=r.get("date_format", str, "%Y-%m-%d"),
        time_format=r.get("time_format", str, "%H:%M:%S"),
        time_is_range=r.get("time_is_range", bool, False),
        day_starts_at=r.get("day_starts_at", str, "00:00"),
        zone=r.get("zone", str, None),
        count=r.get("count", str, None),
        ignored=tuple(_strings(r.get("ignored", list, []), r.key("ignored"))),
        delimiter=r.get("delimiter", str, ","),
        count_format=r.get("count_format", str, "integer", COUNT_FORMATS),
    )
    if bool(layout.timestamp) == bool(layout.date or layout.time):
        raise SpecError(f"{where}: give either timestamp, or date and time, columns")
    if not layout.timestamp and not (layout.date and layout.time):
        raise SpecError(f"{where}: date and time columns go together")
    if kind == "long" and not (layout.zone and layout.count):
        raise SpecError(f"{where}: a long layout needs zone and count columns")
    if kind == "wide" and (layout.zone or layout.count):
        raise SpecError(f"{where}: zone and count columns belong to a long layout; a wide one has a column per zone")
    if len(layout.delimiter) != 1:
        raise SpecError(f"{where}.delimiter: one character, got {layout.delimiter!r}")
    if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", layout.day_starts_at):
        raise SpecError(f"{where}.day_starts_at: expected HH:MM, got {layout.day_starts_at!r}")
    for name in ("date_format", "time_format") + (() if layout.timestamp_format == ISO8601 else ("timestamp_format",)):
        fmt = getattr(layout, name)
        if not re.search(r"%[-]?[A-Za-z]", fmt):
            raise SpecError(f"{where}.{name}: not a strftime format: {fmt!r}")
    try:
        format_regexes(layout)
    except ValueError as exc:
        raise SpecError(f"{where}: {exc}") from exc
    return layout


def _strings(values: list[Any], where: str) -> list[str]:
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise SpecError(f"{where}[{i}]: expected a string, got {v!r}")
    return values


def _zones(raw: Any, where: str) -> tuple[Zone, ...]:
    if not isinstance(raw, list) or not raw:
        raise SpecError(f"{where}: expected a non-empty list of zones")
    zones = []
    for i, z in enumerate(raw):
        r = _Reader(z, f"{where}[{i}]", {"id", "name", "column", "value"})
        zid = r.get("id", str)
        if not _ZONE_ID.fullmatch(zid):
            raise SpecError(f"{r.key('id')}: {zid!r} is not a short id (lower-case letter, then letters, digits, _)")
        source = r.get("column", str, None) or r.get("value", (str, int), None)
        zones.append(Zone(zid, r.get("name", str, zid), str(source if source is not None else zid)))
    ids = [z.id for z in zones]
    dup = sorted(i for i, n in Counter(ids).items() if n > 1)
    if dup:
        raise SpecError(f"{where}: zone id(s) {', '.join(dup)} declared twice")
    dup = sorted(i for i, n in Counter(z.source for z in zones).items() if n > 1)
    if dup:
        raise SpecError(f"{where}: column or value {', '.join(map(repr, dup))} given to more than one zone")
    if "timestamp" in ids:
        raise SpecError(f"{where}: 'timestamp' is reserved and cannot be a zone id")
    return tuple(zones)


def _privacy(raw: Any, where: str, zones: tuple[Zone, ...]) -> PrivacyBound:
    r = _Reader(raw, where, {"contains", "counts_per_person", "reason", "intervals_per_person", "per_count",
                             "per_count_reason", "protected_period_days"})
    reason = r.get("reason", str)
    person = r.get("intervals_per_person", int, None)
    if person is not None and person < 1:
        raise SpecError(f"{r.key('intervals_per_person')}: must be at least 1, got {person}")
    per_count = r.get("per_count", int, 1)
    if per_count < 1:
        raise SpecError(f"{r.key('per_count')}: must be a whole number >= 1 (how much one person moves one count), "
                        f"got {per_count}")
    per_count_reason = r.get("per_count_reason", str, "")
    if per_count > 1 and not per_count_reason:
        raise SpecError(f"{r.key('per_count_reason')}: a per_count above 1 needs its reason stated")
    period = r.get("protected_period_days", int, None)
    if period is not None and period < 1:
        raise SpecError(f"{r.key('protected_period_days')}: must be at least 1 day, got {period}")
    person_bound = {"per_count": per_count, "per_count_reason": per_count_reason, "protected_period_days": period}
    ids = {z.id for z in zones}
    if "contains" in r.raw:
        contains_raw = _mapping(r.raw["contains"], r.key("contains"))
        contains: dict[str, tuple[str, ...]] = {}
        for parent, children in contains_raw.items():
            key = f"{r.key('contains')}.{parent}"
            if not isinstance(children, list) or not all(isinstance(c, str) for c in children):
                raise SpecError(f"{key}: expected a list of zone ids")
            for z in [parent, *children]:
                if z not in ids:
                    raise SpecError(f"{key}: {z!r} is not a zone of this data set ({', '.join(sorted(ids))})")
            contains[str(parent)] = tuple(children)
        bound = _longest_chain(contains, r.key("contains"))
        if "counts_per_person" in r.raw and r.get("counts_per_person", int) != bound:
            raise SpecError(f"{r.key('counts_per_person')}: the containment gives {bound}, the spec says {r.raw['counts_per_person']}")
        return PrivacyBound(bound, reason, contains, person, **person_bound)
    bound = r.get("counts_per_person", int)
    if bound < 1:
        raise SpecError(f"{r.key('counts_per_person')}: must be at least 1, got {bound}")
    return PrivacyBound(bound, reason, intervals_per_person=person, **person_bound)


def _longest_chain(contains: dict[str, tuple[str, ...]], where: str) -> int:
    """Counts of one person in one interval: a person in a zone is counted there and in
    every zone that contains it, directly or not (zones under one parent are disjoint, so
    a person is in one of them at a time). The bound is 1 + the most ancestors any zone
    has; a zone under two parents that do not nest counts in both."""
    parents: dict[str, set[str]] = {}
    for parent, children in contains.items():
        for child in children:
            parents.setdefault(child, set()).add(parent)

    def ancestors(zone: str, seen: tuple[str, ...]) -> set[str]:
        if zone in seen:
            raise SpecError(f"{where}: containment cycle through {' > '.join([*seen, zone])}")
        found: set[str] = set()
        for p in parents.get(zone, ()):
            found |= {p} | ancestors(p, (*seen, zone))
        return found

    zones = set(contains) | set(parents)
    return 1 + max((len(ancestors(z, ())) for z in zones), default=0)


def _gaps(raw: Any, where: str) -> tuple[DeclaredGap, ...]:
    if not isinstance(raw, list):
        raise SpecError(f"{where}: expected a list of gaps")
    gaps = []
    for i, g in enumerate(raw):
        r = _Reader(g, f"{where}[{i}]", {"after", "missing", "reason"})
        after = r.get("after", str)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", after):
            raise SpecError(f"{r.key('after')}: expected local 'YYYY-MM-DD HH:MM', got {after!r}")
        missing = r.get("missing", int)
        if missing < 1:
            raise SpecError(f"{r.key('missing')}: must be at least 1")
        gaps.append(DeclaredGap(after, missing, r.get("reason", str, "")))
    return tuple(gaps)


_TOP = {
    "name", "title", "source", "files", "layout", "interval_minutes", "timezone", "zones", "total",
    "privacy", "protocol", "ambiguous_times", "nonexistent_times", "declared_gaps",
    "undeclared_gaps", "duplicate_times", "missing_values", "empty_zones", "registry_prefix",
}


def spec_from_dict(raw: Any, where: str) -> DatasetSpec:
    r = _Reader(raw, where, _TOP)
    name = r.get("name", str)
    if not _NAME.fullmatch(name):
        raise SpecError(f"{r.key('name')}: {name!r}: lower-case letters, digits, - and _ only")
    src = _Reader(r.get("source", dict), r.key("source"), {"license", "citation", "url", "attribution", "license_file"})
    source = Source(
        license=src.get("license", str),
        citation=src.get("citation", str),
        url=src.get("url", str, ""),
        attribution=src.get("attribution", str, ""),
        license_file=src.get("license_file", str, ""),
    )
    files = _Reader(r.get("files", dict), r.key("files"), {"raw", "increments", "incoming", "rejected"})
    interval = r.get("interval_minutes", int)
    if interval < 1 or 1440 % interval:
        raise SpecError(f"{r.key('interval_minutes')}: {interval} does not divide a day (1440 minutes): use 15, 30, 60, 120...")
    tz = r.get("timezone", str)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SpecError(f"{r.key('timezone')}: {tz!r} is not an IANA time zone") from exc
    layout = _layout(r.get("layout", dict), r.key("layout"))
    zones = _zones(r.raw.get("zones"), r.key("zones"))
    total = r.get("total", str, None)
    if total and layout.kind == "long":
        raise SpecError(f"{r.key('total')}: a total column belongs to a wide layout")
    columns = [*layout.time_columns(), *layout.ignored] + (
        [z.source for z in zones] + ([total] if total else []) if layout.kind == "wide" else [layout.zone, layout.count]
    )
    dup = sorted(str(c) for c, n in Counter(columns).items() if n > 1)
    if dup:
        raise SpecError(f"{r.key('layout')}: column(s) {', '.join(map(str, dup))} used twice")
    proto = _Reader(r.get("protocol", dict), r.key("protocol"), {"test_days", "validation_days", "history_days"})
    protocol = Protocol(proto.get("test_days", int), proto.get("validation_days", int), proto.get("history_days", int, None))
    if protocol.test_days < 1 or protocol.validation_days < 0 or (protocol.history_days is not None and protocol.history_days < 1):
        raise SpecError(f"{r.key('protocol')}: test_days >= 1, validation_days >= 0, history_days >= 1 or null")
    prefix = r.get("registry_prefix", str, None)
    if prefix is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", prefix):
        raise SpecError(f"{r.key('registry_prefix')}: lower-case letters, digits and dashes only")
    return DatasetSpec(
        name=name,
        title=r.get("title", str),
        source=source,
        raw=files.get("raw", str),
        increments=files.get("increments", str, None),
        incoming=files.get("incoming", str, f"data/incoming/{name}"),
        rejected=files.get("rejected", str, f"data/rejected/{name}"),
        layout=layout,
        interval_minutes=interval,
        timezone=tz,
        zones=zones,
        total=total,
        privacy=_privacy(r.get("privacy", dict), r.key("privacy"), zones),
        protocol=protocol,
        ambiguous_times=r.get("ambiguous_times", str, "earliest", AMBIGUOUS),
        nonexistent_times=r.get("nonexistent_times", str, "refuse", POLICIES),
        declared_gaps=_gaps(r.get("declared_gaps", list, []), r.key("declared_gaps")),
        undeclared_gaps=r.get("undeclared_gaps", str, "refuse", POLICIES),
        duplicate_times=r.get("duplicate_times", str, "refuse", POLICIES),
        missing_values=r.get("missing_values", str, "refuse", POLICIES),
        empty_zones=r.get("empty_zones", str, "refuse", EMPTY_ZONE_POLICIES),
        registry_prefix=prefix,
        path=where,
    )


def load_spec(path: str | Path) -> DatasetSpec:
    """Read and check one spec file; every problem is a :class:`SpecError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such data set spec")
    try:
        raw = yaml.load(path.read_bytes().decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    spec = spec_from_dict(raw, str(path))
    if spec.name != path.stem:
        raise SpecError(f"{path}: name: {spec.name!r} differs from the file's name {path.stem!r}")
    return spec


def dataset_path(root: Path, name: str) -> Path:
    return root / "datasets" / f"{name}.yaml"


def available(root: Path) -> list[str]:
    """The data sets declared in ``root/datasets``, by name."""
    folder = root / "datasets"
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
