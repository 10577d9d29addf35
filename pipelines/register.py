"""DVC stage ``register``: register the trained models in MLflow and apply the promotion rule."""

from dagster_report import report  # pipelines/, beside this script

from dpforecast.runtime.project import lineage, load_project
from dpforecast.runtime.stage_main import run_stage
from dpforecast.stages.register import decisions_table, register


def main() -> None:
    paths, params = load_project()
    print(decisions_table(register(paths, params, lineage=lineage(paths, params))))


if __name__ == "__main__":
    run_stage("register", main)
    report("register")  # to the Dagster instance: the UI shows what dvc built
