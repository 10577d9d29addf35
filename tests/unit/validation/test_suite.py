"""The GX suite generated from a spec: which expectation checks what, in both phases."""

from __future__ import annotations

from dataclasses import replace

from dpforecast.config import Params, resolve
from dpforecast.data import synthetic
from dpforecast.data.spec import Layout, spec_from_dict
from dpforecast.validation.suite import phase1, phase2


def _params(**changes) -> Params:
    frame = synthetic.generate(zones=3, days=1, interval_minutes=60)  # z0001 is the total of the others
    spec = replace(spec_from_dict(synthetic.spec_dict(frame, "town", "town.csv"), "town.yaml"), **changes)
    return resolve(Params(dataset="town"), spec)


def _kinds(expectations) -> list[tuple[str, str | None, str]]:
    return [(type(e).__name__, getattr(e, "column", None), e.meta["problem"]) for e in expectations]


def test_phase_one_checks_header_rows_cells_and_formats_of_the_columns_present():
    params = _params()
    columns = ["timestamp", "z0001", "z0002"]  # z0003 missing: the header check reports it, no cell check
    kinds = _kinds(phase1(columns, params.data_set, params))
    assert kinds[0][0] == "ExpectTableColumnsToMatchOrderedList"
    assert ("ExpectTableRowCountToBeBetween", None, "fewer than 48 data rows") in kinds
    assert {c for k, c, _ in kinds if k == "ExpectColumnValuesToNotBeNull"} == {"timestamp", "z0001", "z0002"}
    assert {c for k, c, _ in kinds if k == "ExpectColumnValuesToMatchRegex"} == {"timestamp", "z0001", "z0002"}
    assert [e.meta["order"] for e in phase1(columns, params.data_set, params)] == list(range(len(kinds)))


def test_missing_values_as_gaps_allow_empty_counts_and_a_long_layout_checks_its_zones():
    params = _params(missing_values="gap")
    kinds = _kinds(phase1(["timestamp", "z0001", "z0002", "z0003"], params.data_set, params))
    assert {c for k, c, _ in kinds if k == "ExpectColumnValuesToNotBeNull"} == {"timestamp"}
    long = _params(layout=Layout(kind="long", timestamp="ds", zone="unique_id", count="y"))
    kinds = _kinds(phase1(["unique_id", "ds", "y"], long.data_set, long))
    assert ("ExpectColumnValuesToBeInSet", "unique_id", "not a zone of this data set") in kinds
    typed = _kinds(phase2(long.data_set, long))
    assert ("ExpectColumnValuesToNotBeNull", "z0002", "no count for this zone at this time (missing_values: refuse)") \
        in typed


def test_phase_two_checks_parsing_order_grid_ranges_and_the_total():
    params = _params()
    kinds = _kinds(phase2(params.data_set, params))
    names = [k for k, _, _ in kinds]
    assert names[:4] == ["ExpectColumnValuesToBeNull", "ExpectColumnValuesToBeUnique", "ExpectColumnValuesToBeIncreasing",
                         "ExpectColumnValuesToBeNull"]
    assert ("ExpectColumnValuesToBeBetween", "total_minus_zones", "z0001 minus the sum of the 3 zones is not 0") \
        not in kinds  # the synthetic spec declares the hierarchy, not a total column
    assert {c for k, c, _ in kinds if k == "ExpectColumnValuesToBeBetween"} == {"z0001", "z0002", "z0003"}
    with_total = _params(total="Total")
    assert ("ExpectColumnValuesToBeBetween", "total_minus_zones", "Total minus the sum of the 3 zones is not 0") in \
        _kinds(phase2(with_total.data_set, with_total))
