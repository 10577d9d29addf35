"""DVC stage ``evaluate``: baseline and saved models on the test week; metrics and plots."""

from dpforecast.interrupts import sigterm_as_interrupt
from dpforecast.project import lineage, load_project
from dpforecast.stages.evaluate import evaluate, summary_table

if __name__ == "__main__":
    with sigterm_as_interrupt():
        paths, params = load_project()
        print(summary_table(evaluate(paths, params, lineage=lineage(paths, params))))
