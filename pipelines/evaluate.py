"""DVC stage ``evaluate``: baselines and saved models on the test period; metrics and plots."""

from dagster_report import report  # pipelines/, beside this script

from dpforecast.features.periods import period_lines
from dpforecast.runtime.io import read_json
from dpforecast.runtime.project import lineage, load_project
from dpforecast.runtime.stage_main import run_stage
from dpforecast.stages.evaluate import coverage_flags, evaluate, lead_table, summary_table


def main() -> None:
    paths, params = load_project()
    scores = evaluate(paths, params, lineage=lineage(paths, params))
    summary = read_json(paths.feature_summary)
    print("\n".join([f"evaluate: test period ({summary['timezone']}):", *period_lines(summary["periods"], ("test",))]))
    print(summary_table(scores))
    for flag in coverage_flags(scores):
        print(flag)
    if params.features.horizon > 1:
        print(lead_table(scores, params.data_set.interval_minutes, every=max(1, params.features.horizon // 8)))


if __name__ == "__main__":
    run_stage("evaluate", main)
    report("evaluate")  # to the Dagster instance: the UI shows what dvc built
