"""DVC stage ``evaluate``: baseline and saved models on the test week; metrics and plots."""

from dpforecast.project import lineage, load_project
from dpforecast.stage_main import run_stage
from dpforecast.stages.evaluate import evaluate, summary_table


def main() -> None:
    paths, params = load_project()
    print(summary_table(evaluate(paths, params, lineage=lineage(paths, params))))


if __name__ == "__main__":
    run_stage("evaluate", main)
