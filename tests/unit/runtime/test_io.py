"""dpforecast.runtime.io: outputs appear whole or not at all, files and folders alike."""

from __future__ import annotations

import math
import subprocess
import sys

import polars as pl
import pytest

from dpforecast.runtime.io import (
    atomic_dir,
    atomic_path,
    read_json,
    write_json,
    write_parquet,
    write_text,
)
from dpforecast.runtime.processes import identity


def test_a_file_is_replaced_only_when_its_writer_succeeds(tmp_path):
    target = tmp_path / "deep" / "out.txt"
    assert write_text(target, "first") == target and target.read_text() == "first"
    with pytest.raises(RuntimeError, match="interrupted"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]  # no temporary left


def test_json_is_strict_sorted_and_reads_back(tmp_path):
    path = write_json(tmp_path / "m.json", {"b": [1, None], "a": 0.5})
    assert path.read_text() == '{\n  "a": 0.5,\n  "b": [\n    1,\n    null\n  ]\n}\n'
    assert read_json(path) == {"a": 0.5, "b": [1, None]}
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        write_json(tmp_path / "nan.json", {"rmse": math.nan})
    assert not (tmp_path / "nan.json").exists()


def test_parquet_round_trips(tmp_path):
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", None]})
    assert pl.read_parquet(write_parquet(tmp_path / "t.parquet", frame)).equals(frame)


def test_a_folder_is_swapped_in_whole_or_the_previous_one_stays(tmp_path):
    target = tmp_path / "features"
    with atomic_dir(target) as tmp:
        (tmp / "table.parquet").write_text("v1")
        assert not target.exists()
    assert [p.name for p in target.iterdir()] == ["table.parquet"]
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "table.parquet").write_text("v2")
        raise RuntimeError("killed mid-write")
    assert (target / "table.parquet").read_text() == "v1"
    with atomic_dir(target) as tmp:
        (tmp / "windows.parquet").write_text("v3")
    assert [p.name for p in target.iterdir()] == ["windows.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features"]  # neither temporary nor old copy


def test_only_the_temporaries_of_writers_that_ended_are_cleared(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    me = identity()
    stale = tmp_path / f".features.{dead.pid}-{me.get('start', 'x')}-abc.tmp"
    live = tmp_path / f".features.{me['pid']}-{me.get('start', 'x')}-def.tmp"
    foreign = tmp_path / ".features.unnamed.tmp"
    for folder in (stale, live, foreign):
        folder.mkdir()
    with atomic_dir(tmp_path / "features") as tmp:
        (tmp / "x").write_text("")
    assert not stale.exists() and not foreign.exists()
    assert live.exists()  # a writer still running (this process) keeps its folder
