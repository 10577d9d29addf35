"""Data validation of the operator's raw file with Great Expectations (two phases).

``validate_csv(path, params)`` and ``validate_raw(raw, params)`` return a
:class:`ValidationReport`; the stage raises :class:`DataValidationError` on failure.
Great Expectations itself is imported only when a suite runs.
"""

from __future__ import annotations

from dpforecast.validation.report import (
    DataValidationError,
    ExpectationOutcome,
    ValidationReport,
)
from dpforecast.validation.run import validate_csv, validate_raw

__all__ = [
    "DataValidationError",
    "ExpectationOutcome",
    "ValidationReport",
    "validate_csv",
    "validate_raw",
]
