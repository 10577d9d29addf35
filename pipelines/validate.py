"""DVC stage ``validate``: the Great Expectations suite; a failure stops the pipeline."""

import sys

from dpforecast.interrupts import sigterm_as_interrupt
from dpforecast.project import load_project
from dpforecast.stages.validate import validate
from dpforecast.validation import DataValidationError

if __name__ == "__main__":
    with sigterm_as_interrupt():
        paths, params = load_project()
        try:
            report = validate(paths.raw_table, paths.series, paths.validation_dir, params)
        except DataValidationError as exc:
            print(f"validate: FAILED\n{exc}", file=sys.stderr)
            sys.exit(1)
        print(f"validate: {report.rows} rows passed {len(report.results)} expectations")
