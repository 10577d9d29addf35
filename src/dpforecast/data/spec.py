"""A data set as a declared value: ``datasets/<name>.yaml`` read into :class:`DatasetSpec`.

Everything the pipeline knows about a data set (where its files are, their layout, the
interval, the clock, the zones, how many counts one person can be in, the gaps, the
missing-value policy, the honest evaluation protocol, the licence) comes from this file,
so a city or an operator brings their counts by writing one spec, never by editing code.
Unknown keys and bad values are refused with the spec file and the key's dotted name.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from dpforecast.data.clock import Clock
from dpforecast.data.holiday_calendar import HolidayCalendar
from dpforecast.data.time_formats import ISO8601, format_regexes
from dpforecast.declared import DECLARED, read
from dpforecast.errors import ConfigError

_ZONE_ID = re.compile(r"[a-z][a-z0-9_]{0,31}")
DATASET_NAME = re.compile(r"[a-z][a-z0-9_-]{0,47}")


@dataclass(frozen=True)
class DeclaredGap:
    """A known hole in the grid: ``missing`` intervals after local time ``after``."""

    __pydantic_config__ = DECLARED
    after: str
    """The last local time before the gap, 'YYYY-MM-DD HH:MM'."""
    missing: int
    """Intervals missing after it."""
    reason: str = ""
    """Why (shown in the validation report)."""


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

    __pydantic_config__ = DECLARED
    kind: Literal["wide", "long"]
    """wide (a column per zone) or long (zone and count columns)."""
    timestamp: str | None = None
    """The column holding each interval's time (or give date and time)."""
    date: str | None = None
    """The column holding the date, with time."""
    time: str | None = None
    """The column holding the time of day, with date."""
    timestamp_format: str = ISO8601
    """strftime format of timestamp, or iso8601 (optional seconds and offset)."""
    date_format: str = "%Y-%m-%d"
    """strftime format of date."""
    time_format: str = "%H:%M:%S"
    """strftime format of time."""
    time_is_range: bool = False
    """The time cell is a range such as 6:00-6:59; its start is the interval's start."""
    day_starts_at: str = "00:00"
    """HH:MM: times before it belong to the next date (some operators' day runs 06:00-05:59)."""
    zone: str | None = None
    """Long layout: the column naming the zone."""
    count: str | None = None
    """Long layout: the column holding the count."""
    ignored: tuple[str, ...] = ()
    """Columns the file has and the pipeline does not use (checked present, never read)."""
    delimiter: str = ","
    """The field delimiter (one character)."""
    count_format: Literal["integer", "whole_decimal"] = "integer"
    """integer (94) or whole_decimal (94.0, a whole number written as a decimal)."""

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

    __pydantic_config__ = DECLARED
    test_days: int
    """Last local days held out as the test set."""
    validation_days: int
    """Days before the test set for early stopping and calibration."""
    history_days: int | None = None
    """Training history before the validation block; null = all of it."""


@dataclass(frozen=True)
class Source:
    """Where the data come from and on what terms."""

    __pydantic_config__ = DECLARED
    license: str
    """The data's licence (an SPDX identifier where there is one)."""
    citation: str
    """How to cite the data."""
    url: str = ""
    """Where the data are published."""
    attribution: str = ""
    """The attribution the licence asks for."""
    license_file: str = ""
    """The licence's text, relative to the project root."""


@dataclass(frozen=True, kw_only=True)
class FilesDocument:
    """The data set's files, relative to the project root."""

    __pydantic_config__ = DECLARED
    raw: str
    """The base file."""
    increments: str | None = None
    """A folder of accepted deliveries (YYYY-MM-DD.csv), read after the base file."""
    incoming: str | None = None
    """Where new deliveries land (the Dagster sensor watches it); default data/incoming/<name>."""
    rejected: str | None = None
    """Where refused deliveries go; default data/rejected/<name>."""


@dataclass(frozen=True, kw_only=True)
class ZoneDocument:
    """One zone: its id, display name, and its column (wide) or value (long) in the file."""

    __pydantic_config__ = DECLARED
    id: str
    """A short id (lower-case letter, then letters, digits, _): the series' column."""
    name: str | None = None
    """Display name (default: the id)."""
    column: str | None = None
    """Wide layout: the file's column for this zone (default: the id)."""
    value: str | int | None = None
    """Long layout: the zone column's value for this zone (default: the id)."""


@dataclass(frozen=True, kw_only=True)
class PrivacyDocument:
    """How much one person can change the counts (see :class:`PrivacyBound`)."""

    __pydantic_config__ = DECLARED
    reason: str
    """Why the bound holds, in words (stated in every privacy report)."""
    contains: dict[str, list[str]] | None = None
    """Zone -> the zones inside it: a person counts once in a zone and in each zone containing it."""
    counts_per_person: int | None = None
    """Counts one person changes in one interval (derived from contains when given)."""
    intervals_per_person: int | None = None
    """The most intervals one person is counted in at all, if known."""
    per_count: int = 1
    """How much one person moves one count (more than 1 where counts are extrapolated)."""
    per_count_reason: str = ""
    """Why per_count is what it is (required above 1)."""
    protected_period_days: int | None = None
    """A person's protected period in days: the person unit."""


@dataclass(frozen=True, kw_only=True)
class SpecDocument:
    """A data set spec, ``datasets/<name>.yaml``."""

    __pydantic_config__ = DECLARED
    name: str
    """The data set's name: the file's name, lower-case letters, digits, - and _."""
    title: str
    """A one-line description."""
    source: Source
    """Licence and citation."""
    files: FilesDocument
    """Where its files are."""
    layout: Layout
    """How the source file is laid out."""
    interval_minutes: int
    """Minutes per interval (a divisor of a day)."""
    timezone: str
    """The IANA time zone of the local clock."""
    interval_clock: Literal["absolute", "local"] = "absolute"
    """absolute: every interval lasts interval_minutes of real time; local: each starts when the local clock first
    shows a multiple of interval_minutes after midnight and ends where the next starts, so the one holding a change
    of time is longer or shorter (2-hour counts: 3 hours when the clocks go back, 1 when they go forward)."""
    zones: list[ZoneDocument]
    """The zones (a non-empty list)."""
    total: str | None = None
    """Wide layout: a column holding the sum of the zones (checked, then dropped)."""
    privacy: PrivacyDocument
    """How much one person can change the counts."""
    protocol: Protocol
    """The honest evaluation protocol."""
    ambiguous_times: Literal["earliest", "latest", "refuse"] = "earliest"
    """The wall-clock hour repeated at the end of summer time: which reading to keep."""
    nonexistent_times: Literal["refuse", "gap"] = "refuse"
    """A local time skipped at the start of summer time: refuse the file, or drop the row as a gap."""
    declared_gaps: list[DeclaredGap] = field(default_factory=list)
    """Known holes in the grid."""
    undeclared_gaps: Literal["refuse", "gap"] = "refuse"
    """Intervals missing from the file that no declared gap explains."""
    duplicate_times: Literal["refuse", "gap"] = "refuse"
    """A timestamp repeated in the file."""
    missing_values: Literal["refuse", "gap"] = "refuse"
    """An empty count cell."""
    empty_zones: Literal["refuse", "drop"] = "refuse"
    """A zone with no count in the training period: refuse, or drop it from the models."""
    registry_prefix: str | None = None
    """MLflow registered models are <registry_prefix>-<arch>[-ip|-gp]."""
    calendar: HolidayCalendar = field(default_factory=HolidayCalendar)
    """Public holidays (country and subdivision, as the holidays package names them) and declared events:
    known-future model inputs (features.known_future) and the calendar groups intervals are scored on."""


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
    # absolute (every interval interval_minutes of real time) or local (wall-clock starts).
    interval_clock: str = "absolute"
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
    # Public holidays and declared events (no country: weekdays and weekends only).
    calendar: HolidayCalendar = field(default_factory=HolidayCalendar)
    path: str = ""

    @property
    def zone_ids(self) -> list[str]:
        return [z.id for z in self.zones]

    @property
    def zone_names(self) -> dict[str, str]:
        return {z.id: z.name for z in self.zones}

    @property
    def clock(self) -> Clock:
        """Where each interval starts and how long it lasts."""
        return Clock(self.interval_minutes, self.timezone, self.interval_clock == "local")

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
            "interval_clock": self.interval_clock,
            "timezone": self.timezone,
            "license": self.source.license,
            "citation": self.source.citation,
            "source_url": self.source.url,
        }


def _layout(layout: Layout, where: str) -> Layout:
    """Checks a layout's keys together (the types are the document's)."""
    if bool(layout.timestamp) == bool(layout.date or layout.time):
        raise SpecError(f"{where}: give either timestamp, or date and time, columns")
    if not layout.timestamp and not (layout.date and layout.time):
        raise SpecError(f"{where}: date and time columns go together")
    if layout.kind == "long" and not (layout.zone and layout.count):
        raise SpecError(f"{where}: a long layout needs zone and count columns")
    if layout.kind == "wide" and (layout.zone or layout.count):
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


def _zones(raw: list[ZoneDocument], where: str) -> tuple[Zone, ...]:
    if not raw:
        raise SpecError(f"{where}: expected a non-empty list of zones")
    zones = []
    for i, z in enumerate(raw):
        if not _ZONE_ID.fullmatch(z.id):
            raise SpecError(f"{where}[{i}].id: {z.id!r} is not a short id (lower-case letter, then letters, digits, _)")
        source = z.column or z.value
        zones.append(Zone(z.id, z.name or z.id, str(source if source is not None else z.id)))
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


def _privacy(doc: PrivacyDocument, where: str, zones: tuple[Zone, ...]) -> PrivacyBound:
    def key(name: str) -> str:
        return f"{where}.{name}"

    person = doc.intervals_per_person
    if person is not None and person < 1:
        raise SpecError(f"{key('intervals_per_person')}: must be at least 1, got {person}")
    if doc.per_count < 1:
        raise SpecError(f"{key('per_count')}: must be a whole number >= 1 (how much one person moves one count), "
                        f"got {doc.per_count}")
    if doc.per_count > 1 and not doc.per_count_reason:
        raise SpecError(f"{key('per_count_reason')}: a per_count above 1 needs its reason stated")
    period = doc.protected_period_days
    if period is not None and period < 1:
        raise SpecError(f"{key('protected_period_days')}: must be at least 1 day, got {period}")
    person_bound = {"per_count": doc.per_count, "per_count_reason": doc.per_count_reason,
                    "protected_period_days": period}
    ids = {z.id for z in zones}
    if doc.contains is not None:
        contains: dict[str, tuple[str, ...]] = {}
        for parent, children in doc.contains.items():
            for z in [parent, *children]:
                if z not in ids:
                    raise SpecError(f"{key('contains')}.{parent}: {z!r} is not a zone of this data set "
                                    f"({', '.join(sorted(ids))})")
            contains[parent] = tuple(children)
        bound = _longest_chain(contains, key("contains"))
        if doc.counts_per_person is not None and doc.counts_per_person != bound:
            raise SpecError(f"{key('counts_per_person')}: the containment gives {bound}, the spec says "
                            f"{doc.counts_per_person}")
        return PrivacyBound(bound, doc.reason, contains, person, **person_bound)
    if doc.counts_per_person is None:
        raise SpecError(f"{key('counts_per_person')}: required key is missing (or give contains)")
    if doc.counts_per_person < 1:
        raise SpecError(f"{key('counts_per_person')}: must be at least 1, got {doc.counts_per_person}")
    return PrivacyBound(doc.counts_per_person, doc.reason, intervals_per_person=person, **person_bound)


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


def _gaps(gaps: list[DeclaredGap], where: str) -> tuple[DeclaredGap, ...]:
    for i, g in enumerate(gaps):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", g.after):
            raise SpecError(f"{where}[{i}].after: expected local 'YYYY-MM-DD HH:MM', got {g.after!r}")
        if g.missing < 1:
            raise SpecError(f"{where}[{i}].missing: must be at least 1")
    return tuple(gaps)


def _calendar(calendar: HolidayCalendar, where: str) -> HolidayCalendar:
    """Checks the country and subdivision against the holidays package, and the events' days."""
    import holidays

    supported = holidays.list_supported_countries()
    if calendar.country is not None and calendar.country not in supported:
        raise SpecError(f"{where}.country: {calendar.country!r} is not a country the holidays package knows "
                        f"(ISO 3166-1 alpha-2, e.g. FR, NZ)")
    if calendar.subdivision is not None:
        if calendar.country is None:
            raise SpecError(f"{where}.subdivision: needs a country")
        known = supported[calendar.country]
        if calendar.subdivision not in known:
            raise SpecError(f"{where}.subdivision: {calendar.subdivision!r} is not a subdivision of "
                            f"{calendar.country} with holidays of its own ({', '.join(known) or 'none'})")
    for i, event in enumerate(calendar.events):
        try:
            dt.date.fromisoformat(event.date)
        except ValueError:
            raise SpecError(f"{where}.events[{i}].date: expected a day YYYY-MM-DD, got {event.date!r}") from None
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", event.date):
            raise SpecError(f"{where}.events[{i}].date: expected a day YYYY-MM-DD, got {event.date!r}")
        if event.days < 1:
            raise SpecError(f"{where}.events[{i}].days: must be at least 1")
    return calendar


def spec_from_dict(raw: Any, where: str) -> DatasetSpec:
    """A spec from its YAML (``where``: its file, named in every error)."""
    doc = read(SpecDocument, raw, where, SpecError)

    def key(name: str) -> str:
        return f"{where}: {name}"

    if not DATASET_NAME.fullmatch(doc.name):
        raise SpecError(f"{key('name')}: {doc.name!r}: lower-case letters, digits, - and _ only")
    interval = doc.interval_minutes
    if interval < 1 or 1440 % interval:
        raise SpecError(f"{key('interval_minutes')}: {interval} does not divide a day (1440 minutes): use 15, 30, 60, 120...")
    try:
        ZoneInfo(doc.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SpecError(f"{key('timezone')}: {doc.timezone!r} is not an IANA time zone") from exc
    if doc.interval_clock == "local" and doc.ambiguous_times != "earliest":
        raise SpecError(f"{key('ambiguous_times')}: {doc.ambiguous_times!r} contradicts interval_clock: local, whose "
                        f"interval starts when the clock first shows its time: use earliest")
    layout = _layout(doc.layout, key("layout"))
    zones = _zones(doc.zones, key("zones"))
    total = doc.total
    if total and layout.kind == "long":
        raise SpecError(f"{key('total')}: a total column belongs to a wide layout")
    columns = [*layout.time_columns(), *layout.ignored] + (
        [z.source for z in zones] + ([total] if total else []) if layout.kind == "wide" else [layout.zone, layout.count]
    )
    dup = sorted(str(c) for c, n in Counter(columns).items() if n > 1)
    if dup:
        raise SpecError(f"{key('layout')}: column(s) {', '.join(map(str, dup))} used twice")
    protocol = doc.protocol
    if protocol.test_days < 1 or protocol.validation_days < 0 or (protocol.history_days is not None and protocol.history_days < 1):
        raise SpecError(f"{key('protocol')}: test_days >= 1, validation_days >= 0, history_days >= 1 or null")
    prefix = doc.registry_prefix
    if prefix is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", prefix):
        raise SpecError(f"{key('registry_prefix')}: lower-case letters, digits and dashes only")
    files = doc.files
    return DatasetSpec(
        name=doc.name,
        title=doc.title,
        source=doc.source,
        raw=files.raw,
        increments=files.increments,
        incoming=files.incoming or f"data/incoming/{doc.name}",
        rejected=files.rejected or f"data/rejected/{doc.name}",
        layout=layout,
        interval_minutes=interval,
        timezone=doc.timezone,
        interval_clock=doc.interval_clock,
        zones=zones,
        total=total,
        privacy=_privacy(doc.privacy, key("privacy"), zones),
        protocol=protocol,
        ambiguous_times=doc.ambiguous_times,
        nonexistent_times=doc.nonexistent_times,
        declared_gaps=_gaps(doc.declared_gaps, key("declared_gaps")),
        undeclared_gaps=doc.undeclared_gaps,
        duplicate_times=doc.duplicate_times,
        missing_values=doc.missing_values,
        empty_zones=doc.empty_zones,
        registry_prefix=prefix,
        calendar=_calendar(doc.calendar, key("calendar")),
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
