"""DVC stage ``train``: the architectures ``train.model`` selects, tracked in MLflow."""

from dagster_report import report  # pipelines/, beside this script

from dpforecast.features.periods import period_lines
from dpforecast.runtime.io import read_json
from dpforecast.runtime.project import lineage, load_project
from dpforecast.runtime.stage_main import run_stage
from dpforecast.stages.train import train


def main() -> None:
    paths, params = load_project()
    summary = read_json(paths.feature_summary)
    print("\n".join([f"train: fitting on these target periods ({summary['timezone']}):",
                     *period_lines(summary["periods"], ("train", "validation"))]))
    for result in train(paths, params, lineage=lineage(paths, params)):
        print(f"train: {result.architecture} test mean RMSE {result.test['rmse']['mean']:.1f}")


if __name__ == "__main__":
    run_stage("train", main)
    report("train")  # to the Dagster instance: the UI shows what dvc built
