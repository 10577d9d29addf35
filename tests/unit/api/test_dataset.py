"""dpforecast.api.dataset: a data set's spec by file or name, and its own files read and validated as a long frame."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dpforecast.api.dataset import load_dataset, read_counts
from dpforecast.data import synthetic
from dpforecast.errors import ConfigError
from dpforecast.validation import DataValidationError


def test_a_spec_is_found_by_its_file_or_by_its_name_in_the_working_folder(spec, monkeypatch, tmp_path):
    path = Path(spec.path)
    assert load_dataset(path) == spec
    monkeypatch.chdir(path.parents[1])
    named = load_dataset("town")
    assert named.path == "datasets/town.yaml" and replace(named, path=spec.path) == spec
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="nowhere"):
        load_dataset("nowhere")


def test_the_files_are_read_as_the_long_frame_of_every_zone(spec, frame):
    root = Path(spec.path).parents[1]
    counts = read_counts(spec, root)
    assert counts.columns == ["unique_id", "ds", "y"]
    assert counts.equals(frame)
    assert read_counts(str(Path(spec.path)), root).equals(frame)  # or named by its file


def test_a_file_failing_its_suite_is_refused_naming_the_file_and_line(tmp_path):
    generated = synthetic.generate(zones=2, days=3, interval_minutes=60, hierarchy=False)
    csv, spec_path = synthetic.write(generated, tmp_path / "data", "bad", root=tmp_path)
    lines = csv.read_text().splitlines(keepends=True)
    cells = lines[5].split(",")
    lines[5] = ",".join([cells[0], "-7", *cells[2:]])
    csv.write_text("".join(lines))
    with pytest.raises(DataValidationError) as refused:
        read_counts(Path(spec_path), tmp_path)
    message = str(refused.value)
    assert str(tmp_path / "data" / "bad.csv") in message and "line 6" in message
