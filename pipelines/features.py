"""DVC stage ``features``: calendar features and the chronological window split."""

from dagster_report import report  # pipelines/, beside this script

from dpforecast.runtime.io import read_json
from dpforecast.runtime.project import load_project
from dpforecast.runtime.stage_main import run_stage
from dpforecast.stages.features import build_features, features_report


def main() -> None:
    paths, params = load_project()
    build_features(paths, params)
    print(features_report(read_json(paths.feature_summary)))


if __name__ == "__main__":
    run_stage("features", main)
    report("features")  # to the Dagster instance: the UI shows what dvc built
