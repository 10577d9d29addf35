"""Reading a data set's time cells as instants, the way its spec declares them.

One reading serves ingest, validation and serving, so a delivery, the training series
and a served window can never disagree on what a cell means. Cells are parsed to the
local wall clock, then placed in the data set's time zone: a repeated hour (end of
summer time) is read as the spec's ``ambiguous_times`` says, a skipped one (start of
summer time) becomes null, and offsets in ISO 8601 cells are honoured. On a local clock a
cell is an interval's start: a skipped time that starts an interval longer than the skip
is the change of time.
"""

from __future__ import annotations

import polars as pl

from dpforecast.data.spec import DatasetSpec, Layout
from dpforecast.data.time_formats import ISO8601, ISO_OFFSET


def _parse_format(fmt: str) -> str:
    return fmt.replace("%-H", "%H")  # Polars reads an unpadded hour with %H


def _wall_clock(layout: Layout) -> tuple[pl.Expr, pl.Expr | None]:
    """The cell's local wall-clock time (naive) and, for ISO cells with one, the offset."""
    if layout.timestamp and layout.timestamp_format == ISO8601:
        text = pl.col(layout.timestamp).str.strip_chars()
        offset = text.str.extract(ISO_OFFSET, 1)
        body = text.str.replace(ISO_OFFSET, "").str.replace("T", " ")
        body = pl.when(body.str.len_chars() == 16).then(body + ":00").otherwise(body)
        naive = body.str.slice(0, 19).str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
        return naive, offset
    if layout.timestamp:
        return pl.col(layout.timestamp).str.strip_chars().str.strptime(
            pl.Datetime("us"), _parse_format(layout.timestamp_format), strict=False), None
    time = pl.col(layout.time).str.strip_chars()
    if layout.time_is_range:
        time = time.str.split("-").list.first()
    naive = (pl.col(layout.date).str.strip_chars() + " " + time).str.strptime(
        pl.Datetime("us"), f"{_parse_format(layout.date_format)} {_parse_format(layout.time_format)}", strict=False)
    if layout.day_starts_at != "00:00":
        hour, minute = map(int, layout.day_starts_at.split(":"))
        before = (naive.dt.hour().cast(pl.Int32) * 60 + naive.dt.minute().cast(pl.Int32)) < hour * 60 + minute
        naive = pl.when(before).then(naive + pl.duration(days=1)).otherwise(naive)
    return naive, None


def _localized(naive: pl.Expr, spec: DatasetSpec, ambiguous: str) -> pl.Expr:
    """Naive wall-clock times placed in the zone. On a local clock a cell is an interval's
    start (:meth:`~dpforecast.data.clock.Clock.read_starts`): a skipped time that starts a
    longer interval is the change of time, not a hole."""
    clock = spec.clock
    if clock.local:
        return naive.map_batches(clock.read_starts, return_dtype=pl.Datetime("us", spec.timezone),
                                 is_elementwise=True)
    return naive.dt.replace_time_zone(spec.timezone, ambiguous=ambiguous, non_existent="null")


def instants(spec: DatasetSpec) -> pl.Expr:
    """The cell's instant in the data set's zone; null where it cannot be read, is
    skipped by a change of time, or is ambiguous and the spec refuses to guess."""
    naive, offset = _wall_clock(spec.layout)
    ambiguous = "null" if spec.ambiguous_times == "refuse" else spec.ambiguous_times
    local = _localized(naive, spec, ambiguous)
    if offset is None:
        return local
    iso = offset.str.replace("Z", "+00:00").str.replace(r"^([+-]\d{2})(\d{2})$", "${1}:${2}")
    aware = (naive.dt.strftime("%Y-%m-%dT%H:%M:%S") + iso).str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC", strict=False).dt.convert_time_zone(spec.timezone)
    return pl.when(offset.is_null()).then(local).otherwise(aware)


def skipped_local(spec: DatasetSpec) -> pl.Expr:
    """True where the cell is a well-formed wall-clock time, given without an offset, that
    the time zone skips (start of summer time): not a repeated hour, not a bad cell."""
    naive, offset = _wall_clock(spec.layout)
    skipped = naive.is_not_null() & _localized(naive, spec, "earliest").is_null()
    return skipped if offset is None else skipped & offset.is_null()


def foreign_offsets(spec: DatasetSpec) -> pl.Expr:
    """The UTC offset written in an ISO 8601 cell where the data set's time zone has
    another offset at that instant: the file's clock is another zone's, and reading it in
    the spec's would shift every local calendar feature. Null where the cell has no offset,
    agrees, or is written in UTC (``Z``, ``+00:00``: an instant, whatever the local clock)."""
    naive, offset = _wall_clock(spec.layout)
    if offset is None:
        return pl.lit(None, pl.String)
    in_utc = offset.str.contains(r"^(Z|[+-]00:?00)$")
    local = instants(spec).dt.replace_time_zone(None)
    return pl.when(offset.is_not_null() & ~in_utc & (local != naive)).then(offset)
