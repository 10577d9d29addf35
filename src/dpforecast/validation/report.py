"""The outcome of a validation: one line per expectation, readable and machine-readable.

Nothing here imports Great Expectations; :mod:`dpforecast.validation.outcomes` turns GX's
JSON into :class:`ExpectationOutcome` objects, and this module renders them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result.

    ``examples`` holds up to five offending rows, each a dict with ``row`` (line number in
    the source file, the header being line 1), the checked column's value and, for the
    typed checks, the row's ``Date`` and ``Hour`` as written.
    """

    expectation: str
    column: str | None
    success: bool
    unexpected_count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    phase: int = 1
    problem: str = ""  # what a failure means, in words
    details: str = ""  # table-level findings (columns found, row count) or GX's exception

    def describe(self) -> str:
        """One line naming the expectation, the column, the count and example rows."""
        where = f" on column {self.column!r}" if self.column else ""
        what = f" ({self.problem})" if self.problem else ""
        head = f"{self.expectation} failed{where}{what}"
        parts: list[str] = []
        if self.unexpected_count:
            parts.append(f"{self.unexpected_count} bad value(s)")
            if self.examples:
                parts[-1] += ", e.g. " + "; ".join(_example(self.column, e) for e in self.examples)
        if self.details:
            parts.append(self.details)
        return head + (": " + "; ".join(parts) if parts else "")


def _example(column: str | None, ex: dict[str, Any]) -> str:
    """``line 7: 'abc'``; typed checks add the row's wall-clock time: ``line 9 (2020-08-24 04:00:00)``."""
    text = f"line {ex.get('row')}"
    if "Date" in ex and "Hour" in ex and column not in ("Date", "Hour"):
        text += f" ({ex['Date']} {ex['Hour']})"
    if column is not None and column in ex and column != "timestamp":
        value = ex[column]
        text += ": empty" if value is None else f": {value!r}"
    return text


@dataclass
class ValidationReport:
    """What :func:`dpforecast.validation.validate_raw` found.

    ``gx_result`` maps ``phase1`` and ``phase2`` to GX's ``ValidationResult.to_json_dict()``
    (``phase2`` is ``None`` when phase 1 failed and the typed checks were not run).
    ``error`` is set when the file could not be read as a table at all.
    """

    passed: bool
    rows: int
    source: str = ""
    results: list[ExpectationOutcome] = field(default_factory=list)
    gx_result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    phase2_run: bool = False
    # Rows the spec's policies made gaps (a skipped local time, a repeated timestamp), by reason.
    dropped_rows: dict[str, int] = field(default_factory=dict)
    # The typed table phase 2 checked (not serialised): the stage writes the series from it.
    typed: Any = field(default=None, repr=False, compare=False)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success]

    def message(self) -> str:
        """A verdict line, then one line per failed expectation."""
        name = self.source or "data"
        if self.passed:
            return f"{name}: valid ({self.rows} rows, {len(self.results)} expectations met)"
        if self.error:
            # read_raw's errors already start with the path
            error = self.error.removeprefix(f"{name}: ")
            return f"{name}: data validation failed: {error}"
        failures = self.failures
        lines = [
            f"{name}: data validation failed ({len(failures)} of {len(self.results)} "
            f"expectations failed, {self.rows} rows)"
        ]
        lines += [f"  - {f.describe()}" for f in failures]
        if not self.phase2_run:
            lines.append("  (typed checks on timestamps, grid, totals and ranges not run: fix the above first)")
        return "\n".join(lines)

    def summary_markdown(self) -> str:
        """A readable table of every expectation with pass/fail."""
        verdict = "PASSED" if self.passed else "FAILED"
        met = sum(r.success for r in self.results)
        out = [
            f"# Data validation: {self.source or 'data'}",
            "",
            f"**{verdict}**: {self.rows} rows, {met} of {len(self.results)} expectations met.",
            "",
        ]
        if self.error:
            out += [f"The file could not be read as a table: {_cell(self.error)}", ""]
        if self.results:
            out += [
                "| # | phase | expectation | column | a failure means | result | unexpected | examples / details |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for i, r in enumerate(self.results, 1):
                notes = "; ".join(_example(r.column, e) for e in r.examples)
                if r.details:
                    notes = f"{notes}; {r.details}" if notes else r.details
                out.append(
                    f"| {i} | {r.phase} | `{r.expectation}` | {_cell(r.column or '(table)')} | {_cell(r.problem)} | "
                    f"{'pass' if r.success else '**FAIL**'} | {r.unexpected_count} | {_cell(notes)} |"
                )
            out.append("")
        if self.results and not self.phase2_run:
            out += ["Phase 2 (typed checks) was not run because phase 1 failed.", ""]
        if self.dropped_rows:
            out += ["Rows left out as gaps, as the data set's spec declares:", ""]
            out += [f"- {reason}: {n} row(s)" for reason, n in sorted(self.dropped_rows.items())]
            out.append("")
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "rows": self.rows,
            "source": self.source,
            "error": self.error,
            "phase2_run": self.phase2_run,
            "dropped_rows": self.dropped_rows,
            "results": [asdict(r) for r in self.results],
            "gx_result": self.gx_result,
        }


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


class DataValidationError(ValueError):
    """The raw data failed validation; ``.report`` holds the full :class:`ValidationReport`."""

    def __init__(self, report: ValidationReport, message: str | None = None) -> None:
        super().__init__(message if message is not None else report.message())
        self.report = report
