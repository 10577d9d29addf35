"""What a counts file looks like, read from the file alone: its delimiter, its time columns
and their format, its layout (a column per zone, or zone and count columns), and how its
counts are written.

``dpforecast datasets add`` starts a new data set's spec from this reading
(:mod:`dpforecast.data.spec_draft`), so a user edits a spec instead of writing one from
nothing. Every inference is checked on every row, not guessed from the first ones: a
format is taken only if all of a column's cells match and parse, and the spec written
from it is then validated like any other.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from dpforecast.data.ingest import RawFormatError, read_raw
from dpforecast.data.schema import ROW
from dpforecast.data.spec import Layout
from dpforecast.data.time_formats import ISO8601, ISO_OFFSET, ISO_REGEX, format_regexes
from dpforecast.errors import DataFileError

DELIMITERS = (",", ";", "\t", "|")
TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M:%S",
                     "%m/%d/%Y %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y")
TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%-H:%M")
# Columns of a wide file that hold calendar parts, not counts, however numeric they look.
_CALENDAR_COLUMNS = re.compile(r"(?i)^(year|month|day|hour|minute|weekday|dow|week|doy|date_?id)$")
# Names a long file's count column goes by, most telling first.
_COUNT_NAMES = ("y", "count", "counts", "value", "n", "people", "visits", "total")
_WHOLE = r"^\s*\d+\s*$"
_WHOLE_DECIMAL = r"^\s*\d+(\.0+)?\s*$"
_HEAD_LINES = 50


@dataclass(frozen=True)
class FileShape:
    """The layout keys of a spec, the zones as the file names them (its columns, wide; its
    zone values, long, in natural order), a total column if one is the sum of
    the others (wide), and what each was read from, one line each."""

    layout: Layout
    zones: tuple[str, ...]
    total: str | None
    findings: tuple[str, ...]


def sniff_delimiter(path: Path) -> str:
    """The delimiter that splits the header and the first data lines into the same number
    (two or more) of fields; the one giving the most fields where several do."""
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as f:
            lines = [line for _, line in zip(range(_HEAD_LINES), f) if line.strip()]
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read it: {exc.strerror}") from exc
    if len(lines) < 2:
        raise DataFileError(f"{path}: expected a header and data rows, found {len(lines)} line(s)")
    fits = {}
    for d in DELIMITERS:
        widths = {len(row) for row in csv.reader(lines, delimiter=d)}
        if len(widths) == 1 and (width := widths.pop()) >= 2:
            fits[d] = width
    if not fits:
        raise DataFileError(f"{path}: line 1: none of {', '.join(map(repr, DELIMITERS))} splits the first "
                            f"{len(lines)} lines into the same number of fields")
    return max(fits, key=lambda d: fits[d])


def _cells(raw: pl.DataFrame, column: str) -> pl.Series:
    """A column's non-empty cells, stripped."""
    values = raw[column].str.strip_chars().drop_nulls()
    return values.filter(values != "")


def _all_match(values: pl.Series, regex: str) -> bool:
    return values.len() > 0 and bool(values.str.contains(regex).all())


def _parses(values: pl.Series, fmt: str) -> bool:
    parsed = values.str.strptime(pl.Datetime("us"), fmt.replace("%-H", "%H"), strict=False)
    return parsed.null_count() == 0


def _time_layout(raw: pl.DataFrame, columns: list[str]) -> tuple[dict[str, object], str]:
    """The layout's time keys, and what they were read from."""
    cells = {c: _cells(raw, c) for c in columns}
    for c in columns:
        if _all_match(cells[c], ISO_REGEX):
            offsets = cells[c].str.contains(ISO_OFFSET).mean() or 0.0
            said = "with UTC offsets" if offsets == 1 else "without offsets" if offsets == 0 else "some with offsets"
            return {"timestamp": c, "timestamp_format": ISO8601}, f"{c!r}: ISO 8601 times {said}"
    for c in columns:
        for fmt in TIMESTAMP_FORMATS:
            (regex, _), = format_regexes(Layout(kind="wide", timestamp=c, timestamp_format=fmt)).values()
            if _all_match(cells[c], regex) and _parses(cells[c], fmt):
                return {"timestamp": c, "timestamp_format": fmt}, f"{c!r}: times written {fmt}"
    for d in columns:
        for date_format in DATE_FORMATS:
            date_regex = format_regexes(Layout(kind="wide", date=d, time=f"{d} (time)", date_format=date_format))[d][0]
            if not (_all_match(cells[d], date_regex) and _parses(cells[d], date_format)):
                continue
            for t in (c for c in columns if c != d):
                for time_format in TIME_FORMATS:
                    for is_range in (False, True):
                        time_regex = format_regexes(Layout(kind="wide", date=d, time=t, time_format=time_format,
                                                           time_is_range=is_range))[t][0]
                        if _all_match(cells[t], time_regex):
                            keys = {"date": d, "time": t, "date_format": date_format, "time_format": time_format,
                                    "time_is_range": is_range}
                            ranged = f" ranges such as {cells[t][0]!r}" if is_range else ""
                            return keys, f"{d!r}: dates written {date_format}; {t!r}: times{ranged} written {time_format}"
    raise DataFileError(f"no column holds times in a format dpforecast reads (ISO 8601; {', '.join(TIMESTAMP_FORMATS)}; "
                        f"or a date column {', '.join(DATE_FORMATS)} and a time column {', '.join(TIME_FORMATS)})")


def _wall_clock(raw: pl.DataFrame, keys: dict[str, object]) -> pl.Series:
    """Each row's time as written (naive), the day starting at midnight."""
    if keys.get("timestamp_format") == ISO8601:
        body = raw[str(keys["timestamp"])].str.strip_chars().str.replace(ISO_OFFSET, "").str.replace("T", " ")
        body = body.str.slice(0, 19)
        body = body.zip_with(body.str.len_chars() != 16, body + ":00")
        return body.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
    if "timestamp" in keys:
        return raw[str(keys["timestamp"])].str.strip_chars().str.strptime(
            pl.Datetime("us"), str(keys["timestamp_format"]).replace("%-H", "%H"), strict=False)
    time = raw[str(keys["time"])].str.strip_chars()
    if keys["time_is_range"]:
        time = time.str.split("-").list.first()
    fmt = f"{keys['date_format']} {keys['time_format']}".replace("%-H", "%H")
    return (raw[str(keys["date"])].str.strip_chars() + " " + time).str.strptime(pl.Datetime("us"), fmt, strict=False)


def _day_start(wall: pl.Series) -> str:
    """``day_starts_at``: the hour before which a row's date is the next day's, where the
    file's dates run from that hour to the one before it (an operator's 06:00-05:59 day);
    00:00 where the times already follow each other."""
    order = wall.drop_nulls().unique(maintain_order=True)
    micros, hours = order.dt.epoch("us"), order.dt.hour()

    def backwards(hour: int) -> int:
        shifted = micros + (hours < hour).cast(pl.Int64) * 86_400_000_000
        return int((shifted.diff() <= 0).sum())

    if backwards(0) == 0:
        return "00:00"
    best = min(range(24), key=backwards)
    return f"{best:02d}:00" if backwards(best) < backwards(0) else "00:00"


def _count_format(values: pl.Series) -> str | None:
    """integer, whole_decimal, or None: not counts."""
    if values.len() == 0 or _all_match(values, _WHOLE):
        return "integer"
    if _all_match(values, _WHOLE_DECIMAL):
        return "whole_decimal"
    return None


def _natural(text: str) -> list[tuple[int, int | str]]:
    """Sorts ``s2`` before ``s10``."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.findall(r"\d+|\D+", text)]


def _long_columns(raw: pl.DataFrame, times: list[str], others: list[str], formats: dict[str, str | None]) -> tuple[str, str]:
    """The zone and count columns of a long file: the count column holds counts (a telling
    name first, else the last such column); the zone column is the other column that,
    with the time, names each row once (the one with fewest values where several do)."""
    counting = [c for c in others if formats[c] is not None]
    if not counting:
        raise DataFileError(f"no column other than the time holds whole, non-negative counts (columns {others})")
    by_name = [c for name in _COUNT_NAMES for c in counting if c.strip().lower() == name]
    count = (by_name or counting[::-1])[0]
    candidates = sorted((c for c in others if c != count), key=lambda c: raw[c].n_unique())
    if not candidates:
        raise DataFileError(f"times repeat, as in a long file, but no column names the zone (columns {raw.columns[:-1]})")
    keyed = [c for c in candidates if raw.select(*times, c).n_unique() == raw.height]
    return (keyed or candidates)[0], count


def sum_of_others(table: pl.DataFrame, columns: list[str]) -> str | None:
    """The column equal to the sum of the other columns on every row where all are counted."""
    if len(columns) < 3:
        return None
    complete = table.select(columns).drop_nulls()
    if not complete.height:
        return None
    total = complete.select(pl.sum_horizontal(columns)).to_series()
    for c in columns:
        if (complete[c] * 2 == total).all():
            return c
    return None


def read_shape(path: Path) -> tuple[FileShape, pl.DataFrame]:
    """The file's shape and its cells (as text, as :func:`~dpforecast.data.ingest.read_raw`
    reads them)."""
    delimiter = sniff_delimiter(path)
    try:
        raw = read_raw(path, delimiter)
    except RawFormatError as exc:
        raise DataFileError(str(exc)) from exc
    columns = [c for c in raw.columns if c != ROW]
    try:
        time_keys, time_found = _time_layout(raw, columns)
    except DataFileError as exc:
        raise DataFileError(f"{path}: {exc}") from None
    times = [str(time_keys[k]) for k in ("timestamp", "date", "time") if k in time_keys]
    wall = _wall_clock(raw, time_keys)
    if "date" in time_keys:
        time_keys["day_starts_at"] = _day_start(wall)
    others = [c for c in columns if c not in times]
    formats = {c: _count_format(_cells(raw, c)) for c in others}
    findings = [f"delimiter {delimiter!r}", time_found]
    if time_keys.get("day_starts_at", "00:00") != "00:00":
        findings.append(f"each date's times run from {time_keys['day_starts_at']} to the hour before it, next morning")
    # Long: each time on a row per zone. A wide file may repeat a few times (a duplicated row).
    long = raw.height >= 1.5 * raw.select(times).n_unique()
    total = None
    if long:
        zone, count = _long_columns(raw, times, others, formats)
        ignored = tuple(c for c in others if c not in (zone, count))
        zones = tuple(sorted(raw[zone].str.strip_chars().drop_nulls().unique().to_list(), key=_natural))
        count_format = formats[count]
        layout = {"kind": "long", **time_keys, "zone": zone, "count": count}
        findings.append(f"long layout: times repeat, once per zone; zone column {zone!r} ({len(zones)} zones), "
                        f"count column {count!r}")
    else:
        counting = [c for c in others if formats[c] is not None and not _CALENDAR_COLUMNS.match(c.strip())]
        if not counting:
            raise DataFileError(f"{path}: each time is on one row, as in a wide file, but no column holds whole, "
                                f"non-negative counts (columns {others})")
        ignored = tuple(c for c in others if c not in counting)
        typed = raw.select(pl.col(c).str.strip_chars().str.replace(r"\.0+$", "").cast(pl.Int64, strict=False)
                           for c in counting)
        summed = sum_of_others(typed, counting)
        if summed is not None and re.search(r"(?i)total|sum|all", summed):
            total = summed
            findings.append(f"{summed!r} is the sum of the other columns on every row: a total, checked and dropped")
        zones = tuple(c for c in counting if c != total)
        fmts = {formats[c] for c in zones}
        count_format = "whole_decimal" if "whole_decimal" in fmts else "integer"
        layout = {"kind": "wide", **time_keys}
        findings.append(f"wide layout: one row per time, a column per zone ({len(zones)} zones)")
    if ignored:
        layout["ignored"] = ignored
        findings.append(f"columns not read: {', '.join(map(repr, ignored))}")
    if count_format == "whole_decimal":
        findings.append("counts are whole numbers written as decimals (94.0)")
    if delimiter != ",":
        layout["delimiter"] = delimiter
    layout["count_format"] = count_format
    return FileShape(Layout(**layout), zones, total, tuple(findings)), raw  # type: ignore[arg-type]
