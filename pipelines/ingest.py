"""DVC stage ``ingest``: the raw CSV and its accepted increments, cell for cell, into
artifacts/ingest/raw.parquet."""

from dagster_report import report  # pipelines/, beside this script

from dpforecast.data.ingest import source_files
from dpforecast.runtime.project import load_project
from dpforecast.runtime.stage_main import run_stage
from dpforecast.stages.ingest import ingest


def main() -> None:
    paths, params = load_project()
    spec = params.data_set
    base, *added = source_files(paths.sources, spec)
    raw = ingest(base, paths.raw_table, added, spec.layout.delimiter)
    print(f"ingest: {spec.name}: {raw.height} rows from {spec.raw} and {len(added)} increment(s)")


if __name__ == "__main__":
    run_stage("ingest", main)
    report("ingest")  # to the Dagster instance: the UI shows what dvc built
