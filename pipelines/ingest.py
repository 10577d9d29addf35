"""DVC stage ``ingest``: the raw CSV and its accepted increments, cell for cell, into
artifacts/ingest/raw.parquet."""

from dpforecast.interrupts import sigterm_as_interrupt
from dpforecast.data.ingest import increments
from dpforecast.project import load_project
from dpforecast.stages.ingest import ingest

if __name__ == "__main__":
    with sigterm_as_interrupt():
        paths, params = load_project()
        added = increments(paths.root / params.data.increments)
        raw = ingest(paths.root / params.data.raw, paths.raw_table, added)
        print(f"ingest: {raw.height} rows from {params.data.raw} and {len(added)} increment(s)")
