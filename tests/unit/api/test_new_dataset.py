"""`dpforecast datasets add NAME FILE`: a city's own file in, a commented spec that reads it out,
whatever the layout (long or wide), the delimiter, the hemisphere and the clock."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
import yaml
from local_clock import local_clock

from dpforecast.api.new_dataset import add_dataset
from dpforecast.cli import main
from dpforecast.data import synthetic
from dpforecast.data.spec import load_spec
from dpforecast.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
ISO = "%Y-%m-%dT%H:%M:%S%:z"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A project: params.yaml, profiles/, an empty datasets/."""
    project = tmp_path / "project"
    (project / "datasets").mkdir(parents=True)
    shutil.copy(REPO / "params.yaml", project / "params.yaml")
    shutil.copytree(REPO / "profiles", project / "profiles")
    return project


def long_file(path: Path, timezone: str, interval: int, days: int = 60, missing: int = 2) -> Path:
    """A city's long file (``unique_id,ds,y``, ISO 8601 with offsets), zone z0001 the total."""
    frame = synthetic.generate(zones=4, days=days, interval_minutes=interval, start="2024-03-01", timezone=timezone,
                               missing_stretches=missing, seed=4)
    csv, _ = synthetic.write(frame, path.parent, path.stem, "long", root=path.parent, spec_dir=path.parent / "spec")
    return csv


def test_a_long_southern_file_with_offsets(root: Path, tmp_path: Path):
    csv = long_file(tmp_path / "incoming" / "counts_export.csv", "Pacific/Auckland", 120)
    added = add_dataset(root, "wellington", csv)
    spec = load_spec(added.spec_path)
    assert added.copied and added.data_path == (root / "data" / "wellington" / "counts_export.csv").resolve()
    assert spec.raw == "data/wellington/counts_export.csv" and spec.layout.kind == "long"
    assert (spec.layout.timestamp, spec.layout.zone, spec.layout.count) == ("ds", "unique_id", "y")
    assert spec.interval_minutes == 120 and spec.timezone == "Pacific/Auckland"  # the only zone with these offsets
    assert added.draft.clock.kind == "absolute" and "stay 120 minutes" in added.draft.clock.why  # April's change
    assert spec.zone_ids == ["z0001", "z0002", "z0003", "z0004"] and spec.missing_values == "gap"
    assert spec.privacy.contains == {"z0001": ("z0002", "z0003", "z0004")}  # the total is the sum of the others
    assert added.report.passed, added.report.message()
    assert added.registered_model == "wellington-bigru"  # a new data set's models carry its own name
    text = added.spec_path.read_text()
    assert "# the only zone whose UTC offsets (+12:00, +13:00) match every row" in text
    assert "CHECK: the data's licence" in text and "docs/reference.md" in text


def test_a_long_northern_file_is_placed_by_its_name_among_the_zones_its_offsets_fit(root: Path, tmp_path: Path):
    csv = long_file(tmp_path / "paris_sensors.csv", "Europe/Paris", 60, days=40, missing=0)
    added = add_dataset(root, "lutece", csv)
    spec = load_spec(added.spec_path)
    assert spec.timezone == "Europe/Paris" and len(added.draft.timezone.candidates) > 3
    assert "the name says so" in added.draft.timezone.why and spec.missing_values == "refuse"
    assert spec.interval_minutes == 60 and added.report.passed, added.report.message()


def test_a_local_clock_file_is_recognised_declared_and_validates(root: Path, tmp_path: Path):
    stamps = local_clock("Pacific/Auckland", 120, datetime(2024, 3, 1), 60)
    csv = tmp_path / "feed.csv"
    csv.write_text("sensor;time;people\n" + "".join(f"{z};{t.isoformat()};{i % 50}\n" for i, t in enumerate(stamps)
                                                    for z in ("north", "south")))
    added = add_dataset(root, "akl", csv)
    assert added.draft.clock.kind == "local" and added.draft.timezone.timezone == "Pacific/Auckland"
    assert "real time 180" in added.draft.clock.why
    text = added.spec_path.read_text()
    assert "# CLOCK: at 1 of 1 change(s) of time" in text and "interval_clock: local" in text
    assert "interval_clock" in added.text(root)  # printed too
    assert load_spec(added.spec_path).clock.local and added.report.passed, added.report.message()


def test_a_wide_file_with_date_time_columns_and_a_total(root: Path, tmp_path: Path):
    frame = synthetic.generate(zones=3, days=30, interval_minutes=30, start="2024-01-08", timezone="Europe/Paris",
                               hierarchy=False)
    zones = [c for c in frame.columns if c != "timestamp"]
    table = frame.select(pl.col("timestamp").dt.strftime("%Y-%m-%d").alias("Date"),
                         pl.col("timestamp").dt.strftime("%H:%M:%S").alias("Hour"),
                         *(pl.col(z).alias(f"Zone {z[1:]}") for z in zones),
                         pl.sum_horizontal(zones).alias("Total"))
    csv = tmp_path / "montreuil_like_paris.csv"
    table.write_csv(csv)
    added = add_dataset(root, "wide", csv)
    spec = load_spec(added.spec_path)
    assert spec.layout.kind == "wide" and (spec.layout.date, spec.layout.time) == ("Date", "Hour")
    assert spec.layout.time_format == "%H:%M:%S" and spec.total == "Total" and len(spec.zones) == 3
    assert [z.id for z in spec.zones] == ["zone_0001", "zone_0002", "zone_0003"]
    assert spec.privacy.counts_per_person == 1 and "CHECK" in spec.privacy.reason  # assumed, and said so
    assert spec.timezone == "Europe/Paris" and "carry no offset" in added.draft.timezone.why
    assert added.report.passed, added.report.message()


def test_a_semicolon_file_with_day_first_dates_decimal_counts_and_a_six_oclock_day(root: Path, tmp_path: Path):
    frame = synthetic.generate(zones=2, days=20, interval_minutes=60, start="2024-06-03", timezone="Europe/Zurich",
                               hierarchy=False, missing_stretches=1)
    zones = [c for c in frame.columns if c != "timestamp"]
    day = pl.col("timestamp").dt.offset_by("-6h")  # the operator's day runs 06:00-05:59
    table = frame.select(day.dt.strftime("%d/%m/%Y").alias("datum"), pl.col("timestamp").dt.strftime("%H:%M").alias("zeit"),
                         pl.col("timestamp").dt.year().alias("year"),
                         *(pl.col(z).cast(pl.Float64).alias(z) for z in zones))
    csv = tmp_path / "zurich.csv"
    table.write_csv(csv, separator=";", float_precision=1)
    added = add_dataset(root, "zh", csv)
    lay = load_spec(added.spec_path).layout
    assert (lay.delimiter, lay.date_format, lay.time_format, lay.day_starts_at) == (";", "%d/%m/%Y", "%H:%M", "06:00")
    assert lay.count_format == "whole_decimal" and lay.ignored == ("year",)
    assert load_spec(added.spec_path).timezone == "Europe/Zurich"
    assert added.report.passed, added.report.message()


def test_the_command_prints_what_it_inferred_and_refuses_bad_input_in_one_line(root: Path, tmp_path: Path, capsys,
                                                                                 monkeypatch):
    monkeypatch.setenv("DPFORECAST_ROOT", str(root))
    csv = long_file(tmp_path / "city.csv", "Pacific/Auckland", 120, days=30)
    assert main(["datasets", "add", "city", str(csv)]) == 0
    out = capsys.readouterr().out
    for line in ("datasets/city.yaml: drafted from data/city/city.csv", "interval_minutes  120:", "timezone",
                 "Pacific/Auckland", "validation: data/city/city.csv is valid",
                 ".venv/bin/dvc add data && .venv/bin/dvc exp run -S dataset=city",
                 ".venv/bin/dpforecast predict --model models:/city-bigru@champion --input data/city/city.csv"):
        assert line in out, line
    assert yaml.safe_load((root / "datasets" / "city.yaml").read_text())["name"] == "city"
    assert main(["datasets", "add", "city", str(csv)]) == 2
    assert "pass --replace" in capsys.readouterr().err
    assert main(["datasets", "add", "city", str(csv), "--replace"]) == 0  # the copy is the same file: reused
    notes = tmp_path / "notes.csv"
    notes.write_text("what,when\nrain,soon\nsun,later\n")
    assert main(["datasets", "add", "notes", str(notes)]) == 2
    err = capsys.readouterr().err
    assert f"{notes}: no column holds times" in err and "Traceback" not in err
    assert not (root / "datasets" / "notes.yaml").exists() and not (root / "data" / "notes").exists()
    with pytest.raises(ConfigError, match="not a data set name"):
        add_dataset(root, "../up", csv)
