"""Time GX on pandas against the Polars engine on a synthetic city-scale table.

The table is like a wide raw file: ``Date``, ``Hour`` and one count column per zone, every
cell a string; phase 1 is not-null plus a regex per column (as ``suite.phase1``), phase 2
checks the typed table (timestamp unique and increasing, each count between bounds, as
``suite.phase2``). Both engines run in this process on the same expectations. GX is
timed at ``--gx-zones`` zones (it takes minutes at 1,000); the Polars engine at both
sizes, so the ratio compares equal tables. Nothing is extrapolated.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/validation_engine.py [--zones 1000] [--rows 17520] [--gx-zones 100]

Peak RSS is the process's high-water mark (``getrusage``) after each step: it only grows,
so the Polars runs come first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from dpforecast.data.ingest import ROW

DATE_REGEX = r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
HOUR_REGEX = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
COUNT_REGEX = r"^[0-9]+$"


def raw_table(zones: int, rows: int, seed: int = 0) -> pl.DataFrame:
    """Strings as read from the file; a few bad cells so that failures are reported."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2023, 1, 1)
    times = pl.datetime_range(start, start + dt.timedelta(minutes=30 * (rows - 1)), "30m", eager=True)
    counts = rng.integers(0, 5000, size=(rows, zones), dtype=np.int64)
    zone_cells = [pl.Series(f"zone {z:04d}", counts[:, z]).cast(pl.String) for z in range(zones)]
    zone_cells[0] = zone_cells[0].scatter([5, 7], ["abc", None])
    zone_cells[-1] = zone_cells[-1].scatter([rows - 1], ["-3"])
    frame = pl.DataFrame(
        [times.dt.strftime("%Y-%m-%d").alias("Date"), times.dt.strftime("%H:%M:%S").alias("Hour"), *zone_cells]
    )
    return frame.with_columns(pl.int_range(2, rows + 2, dtype=pl.Int64).alias(ROW))


def typed_table(raw: pl.DataFrame) -> pl.DataFrame:
    counts = [c for c in raw.columns if c.startswith("zone ")]
    ts = (pl.col("Date") + " " + pl.col("Hour")).str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S")
    return raw.select(
        pl.col(ROW), ts.dt.replace_time_zone("UTC").alias("timestamp"),
        *(pl.col(c).cast(pl.Int64, strict=False) for c in counts),
    )


def phase1(columns: list[str]) -> list[Any]:
    import great_expectations as gx

    E = gx.expectations
    columns = [c for c in columns if c != ROW]
    regexes = {"Date": DATE_REGEX, "Hour": HOUR_REGEX}
    items: list[Any] = [
        E.ExpectTableColumnsToMatchOrderedList(column_list=columns),
        E.ExpectTableRowCountToBeBetween(min_value=48),
    ]
    items += [E.ExpectColumnValuesToNotBeNull(column=c) for c in columns]
    items += [E.ExpectColumnValuesToMatchRegex(column=c, regex=regexes.get(c, COUNT_REGEX)) for c in columns]
    return _with_meta(items)


def phase2(columns: list[str]) -> list[Any]:
    import great_expectations as gx

    E = gx.expectations
    items: list[Any] = [
        E.ExpectColumnValuesToBeUnique(column="timestamp"),
        E.ExpectColumnValuesToBeIncreasing(column="timestamp", strictly=False),
    ]
    items += [
        E.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1_000_000)
        for c in columns if c.startswith("zone ")
    ]
    return _with_meta(items)


def _with_meta(items: list[Any]) -> list[Any]:
    for i, exp in enumerate(items):
        exp.meta = {"order": i, "problem": "benchmark"}
    return items


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, fn: Callable[[], dict[str, Any]]) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    failed = sum(not r["success"] for r in result["results"])
    print(f"{label:<44} {seconds:8.2f} s   peak RSS {peak_rss_mib():7.0f} MiB   "
          f"{len(result['results'])} expectations, {failed} failed")
    return seconds, result


def _verdicts(result: dict[str, Any]) -> list[tuple[str, int, bool]]:
    """(phase, order, success) per expectation: GX does not return them in suite order."""
    return sorted((r["phase"], r["expectation_config"]["meta"]["order"], r["success"]) for r in result["results"])


def both_phases(run: Callable[[str, pl.DataFrame, list[Any]], dict[str, Any]], raw: pl.DataFrame) -> dict[str, Any]:
    """Phase 1 on the strings, phase 2 on the typed table (run even though phase 1 failed)."""
    typed = typed_table(raw)
    first = run("phase1", raw, phase1(raw.columns))
    second = run("phase2", typed, phase2(typed.columns))
    return {"results": [{**r, "phase": 1} for r in first["results"]] + [{**r, "phase": 2} for r in second["results"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zones", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=17520)
    parser.add_argument("--gx-zones", type=int, default=100, help="zones of the table GX is timed on")
    args = parser.parse_args()

    import great_expectations  # noqa: F401  imported before timing: the import alone takes seconds

    from dpforecast.validation.polars_engine import run_suite
    from dpforecast.validation.run import _context, _run_phase

    def polars_run(name: str, frame: pl.DataFrame, expectations: list[Any]) -> dict[str, Any]:
        return run_suite(frame, expectations, name)

    def gx_run(name: str, frame: pl.DataFrame, expectations: list[Any]) -> dict[str, Any]:
        return _run_phase(_context(), name, frame, expectations)

    full = raw_table(args.zones, args.rows)
    small = full.select("Date", "Hour", *(f"zone {z:04d}" for z in range(min(args.gx_zones, args.zones))), ROW)
    cells = f"{args.rows} rows"
    print(f"table: {args.zones} zones x {cells} ({args.zones * args.rows / 1e6:.1f} M count cells), strings; "
          f"peak RSS after building {peak_rss_mib():.0f} MiB")
    polars_full, _ = timed(f"Polars, {args.zones} zones x {cells}", lambda: both_phases(polars_run, full))
    polars_small, p_small = timed(f"Polars, {small.width - 3} zones x {cells}", lambda: both_phases(polars_run, small))
    gx_small, g_small = timed(f"GX pandas, {small.width - 3} zones x {cells}", lambda: both_phases(gx_run, small))
    same = _verdicts(p_small) == _verdicts(g_small)
    print(f"GX measured at {small.width - 3} zones only (not extrapolated); "
          f"GX / Polars at that size: {gx_small / polars_small:.0f}x; same verdicts: {same}")
    print(f"Polars at {args.zones} zones: {polars_full:.2f} s")


if __name__ == "__main__":
    main()
