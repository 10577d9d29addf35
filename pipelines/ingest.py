"""DVC stage ``ingest``: the raw CSV, cell for cell, into artifacts/ingest/raw.parquet."""

from dpforecast.project import load_project
from dpforecast.stages.ingest import ingest

if __name__ == "__main__":
    paths, params = load_project()
    raw = ingest(paths.root / params.data.raw, paths.raw_table)
    print(f"ingest: {raw.height} rows from {params.data.raw}")
