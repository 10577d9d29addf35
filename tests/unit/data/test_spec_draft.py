"""The drafted spec: short ids from the file's names, a comment on each inference, holes found."""

from __future__ import annotations

from pathlib import Path

import yaml

from dpforecast.data.spec import spec_from_dict
from dpforecast.data.spec_draft import draft_spec, zone_ids


def test_zone_ids_are_short_unique_and_start_with_a_letter():
    assert zone_ids(("1 Courthouse Lane", "Quay St (EW)", "Quay St [EW]", "timestamp", "Ève")) == [
        "z1_courthouse_lane", "quay_st_ew", "quay_st_ew_2", "timestamp_2", "ve"]


def test_the_draft_reads_as_a_spec_with_what_each_value_was_read_from(tmp_path: Path):
    hours = [h for h in range(48) if h not in (20, 21, 22)]  # three intervals absent
    csv = tmp_path / "berlin_counts.csv"
    csv.write_text("zone,ds,y\n" + "".join(f"{z},2024-05-{1 + h // 24:02d}T{h % 24:02d}:00:00+02:00,{h}\n"
                                           for h in hours for z in ("a", "b")))
    draft = draft_spec(csv, "berlin", "data/berlin/berlin_counts.csv")
    doc = yaml.safe_load(draft.text)
    spec = spec_from_dict(doc, "datasets/berlin.yaml")
    assert (spec.interval_minutes, spec.timezone, spec.undeclared_gaps) == (60, "Europe/Berlin", "gap")
    assert "interval_minutes: 60   # the most common step between times: 43 of 44" in draft.text
    assert "# 3 interval(s) absent from the file in 1 hole(s): read as gaps" in draft.text
    assert doc["protocol"] == {"test_days": 1, "validation_days": 1, "history_days": None}  # two days of counts
    assert [f.key for f in draft.findings][:3] == ["layout", "interval_minutes", "timezone"]


def test_rows_out_of_time_order_are_said_before_validation_refuses_them(tmp_path: Path):
    csv = tmp_path / "counts.csv"
    lines = [f"a,2024-05-01T{h:02d}:00:00+02:00,{h}" for h in range(24)]
    csv.write_text("zone,ds,y\n" + "\n".join(lines[12:] + lines[:12]) + "\n")
    findings = {f.key: f for f in draft_spec(csv, "c", "data/c/counts.csv").findings}
    assert findings["(file)"].value == "rows out of time order" and "sort the file by time" in findings["(file)"].why
