"""Deliveries into data/incoming: accepted as increments, or refused with a report.

The base file is the real series without its last day; that day, delivered, makes the
ingested data equal to the full series again. Overlapping, corrupted and repeated
deliveries are refused, moved to data/rejected/ and leave the accepted data unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dpforecast.config import load_params
from dpforecast.data.ingest import increments, read_raw_files
from dpforecast.stages.arrivals import process_incoming

from project_roots import REPO, make_root

RAW = REPO / "data" / "montreuil" / "ML_final_df_real.csv"
LAST_DAY = "2020-11-04"


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    lines = RAW.read_text().splitlines(keepends=True)
    base = tmp_path / "base.csv"
    base.write_text("".join(line for line in lines if not line.startswith(LAST_DAY)))
    return make_root(tmp_path / "project", raw_csv=base)


def deliver(root: Path, name: str, text: str) -> None:
    incoming = root / "data" / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    (incoming / name).write_text(text)


def day(date: str) -> str:
    lines = RAW.read_text().splitlines(keepends=True)
    return lines[0] + "".join(line for line in lines if line.startswith(date))


@pytest.mark.real_data
def test_the_next_day_is_accepted_and_completes_the_series(root: Path):
    params = load_params(root / "params.yaml")
    deliver(root, f"{LAST_DAY}.csv", day(LAST_DAY))
    [arrival] = process_incoming(root, params)
    assert arrival.accepted and "48 rows accepted" in arrival.message
    added = increments(root / params.data_set.increments)
    assert [p.name for p in added] == [f"{LAST_DAY}.csv"]
    assert not list((root / "data" / "incoming").iterdir())
    combined = read_raw_files([root / params.data_set.raw, *added]).drop("row")
    assert combined.equals(read_raw_files([RAW]).drop("row"))


@pytest.mark.real_data
def test_an_overlapping_day_is_refused_with_a_report(root: Path):
    params = load_params(root / "params.yaml")
    deliver(root, "2020-11-03.csv", day("2020-11-03"))
    deliver(root, "2020-11-05.csv", day(LAST_DAY))
    arrivals = process_incoming(root, params)
    assert [a.accepted for a in arrivals] == [False]  # processing stops at the first refusal
    assert (root / "data" / "rejected" / "2020-11-03.csv").is_file()
    assert "2020-11-03" in (root / "data" / "rejected" / "2020-11-03.csv.md").read_text()
    assert increments(root / params.data_set.increments) == []
    assert (root / "data" / "incoming" / "2020-11-05.csv").is_file()


@pytest.mark.real_data
def test_a_corrupted_day_is_refused_on_its_own_lines(root: Path):
    params = load_params(root / "params.yaml")
    lines = day(LAST_DAY).splitlines(keepends=True)
    cells = lines[10].split(",")
    cells[2] = "-" + cells[2]
    lines[10] = ",".join(cells)
    deliver(root, f"{LAST_DAY}.csv", "".join(lines))
    [arrival] = process_incoming(root, params)
    assert not arrival.accepted and "line 11" in arrival.message
    assert increments(root / params.data_set.increments) == []


@pytest.mark.real_data
def test_a_name_already_accepted_is_refused(root: Path):
    params = load_params(root / "params.yaml")
    deliver(root, f"{LAST_DAY}.csv", day(LAST_DAY))
    process_incoming(root, params)
    deliver(root, f"{LAST_DAY}.csv", day(LAST_DAY))
    [again] = process_incoming(root, params)
    assert not again.accepted and "already accepted" in again.message
