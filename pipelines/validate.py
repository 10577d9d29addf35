"""DVC stage ``validate``: the Great Expectations suite; a failure stops the pipeline."""

from dagster_report import report  # pipelines/, beside this script

from dpforecast.runtime.project import load_project
from dpforecast.runtime.stage_main import run_stage
from dpforecast.stages.validate import check_protocol, validate


def main() -> None:
    paths, params = load_project()
    report = validate(paths.raw_table, paths.series, paths.validation_dir, params)
    print(f"validate: {report.rows} rows passed {len(report.results)} expectations")
    windows = check_protocol(paths.series, params)
    print(f"validate: the protocol leaves windows per split {windows}")


if __name__ == "__main__":
    run_stage("validate", main)
    report("validate")  # to the Dagster instance: the UI shows what dvc built
