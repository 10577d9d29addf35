"""dpforecast.experiments.replay: a demo project whose last days wait to be delivered one by one, in the data set's layout."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dpforecast.experiments.replay import deliver_next, init_replay

from synthetic_project import make_synthetic_root

REPO = Path(__file__).resolve().parents[3]


def _source(tmp_path: Path, days: int = 4) -> Path:
    """A project with ``days`` days of two hourly zones, its profiles and DVC ignore file."""
    root = make_synthetic_root(tmp_path / "source", zones=2, days=days)
    shutil.copytree(REPO / "profiles", root / "profiles")
    shutil.copyfile(REPO / ".dvcignore", root / ".dvcignore")
    return root


def _demo_waiting(tmp_path: Path, days: list[str]) -> Path:
    """A project with ``days`` waiting in ``replay/`` (each the base file's first 24 data lines)."""
    demo = make_synthetic_root(tmp_path / "demo", zones=2, days=1)
    lines = (demo / "data" / "town" / "town.csv").read_text().splitlines(keepends=True)
    for day in days:
        (demo / "replay").mkdir(exist_ok=True)
        (demo / "replay" / f"{day}.csv").write_text("".join(lines))
    return demo


def test_the_last_days_are_held_back_verbatim_and_the_rest_committed(tmp_path):
    source = _source(tmp_path)
    demo = tmp_path / "demo"
    assert init_replay(demo, 2, source=source) == ["2024-01-03", "2024-01-04"]
    lines = (source / "data" / "town" / "town.csv").read_text().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    assert (demo / "data" / "town" / "town.csv").read_text() == header + "".join(body[:48])
    assert (demo / "replay" / "2024-01-03.csv").read_text() == header + "".join(body[48:72])
    assert (demo / "replay" / "2024-01-04.csv").read_text() == header + "".join(body[72:])
    for copied in ("params.yaml", "datasets/town.yaml", "profiles/dp-sgd.yaml", ".dvcignore"):
        assert (demo / copied).read_bytes() == (source / copied).read_bytes(), copied
    assert (demo / "data.dvc").is_file() and "/replay/" in (demo / ".gitignore").read_text().splitlines()
    log = subprocess.run(["git", "log", "--format=%s"], cwd=demo, capture_output=True, text=True, check=True).stdout
    assert log.splitlines() == ["replay demo: the series up to 2024-01-02"]
    tracked = subprocess.run(["git", "ls-files"], cwd=demo, capture_output=True, text=True, check=True).stdout.split()
    assert "data.dvc" in tracked and not [f for f in tracked if f.startswith(("data/", "replay/"))]


def test_a_demo_needs_a_day_to_hold_back_a_day_to_keep_and_an_empty_folder(tmp_path):
    source = _source(tmp_path, days=3)
    with pytest.raises(ValueError, match="replay: --days must be at least 1"):
        init_replay(tmp_path / "demo", 0, source=source)
    with pytest.raises(ValueError, match="replay: the series has 3 days; cannot hold back 3"):
        init_replay(tmp_path / "demo", 3, source=source)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"replay: .*used exists and is not empty"):
        init_replay(tmp_path / "used", 1, source=source)
    assert not (tmp_path / "demo").exists() and [p.name for p in (tmp_path / "used").iterdir()] == ["notes.txt"]


def test_days_are_delivered_in_order_into_the_incoming_folder(tmp_path):
    demo = _demo_waiting(tmp_path, ["2024-01-05", "2024-01-04"])
    text = (demo / "replay" / "2024-01-04.csv").read_text()
    incoming = demo / "data" / "incoming" / "town"
    assert deliver_next(demo) == f"delivered 2024-01-04.csv to {incoming}"
    assert (incoming / "2024-01-04.csv").read_text() == text and not (demo / "replay" / "2024-01-04.csv").exists()
    assert deliver_next(demo) == f"delivered 2024-01-05.csv to {incoming}"
    assert deliver_next(demo) == "replay: nothing left to deliver"


def test_a_corrupted_delivery_negates_one_count_and_keeps_the_good_day_waiting(tmp_path):
    demo = _demo_waiting(tmp_path, ["2024-01-04"])
    good = (demo / "replay" / "2024-01-04.csv").read_text().splitlines(keepends=True)
    message = deliver_next(demo, corrupt=True)
    assert message == f"delivered a corrupted 2024-01-04.csv (negative count on line 11) to {demo / 'data/incoming/town'}"
    bad = (demo / "data" / "incoming" / "town" / "2024-01-04.csv").read_text().splitlines(keepends=True)
    assert [i for i, (a, b) in enumerate(zip(good, bad, strict=True)) if a != b] == [10]
    stamp, first, second = good[10].split(",")
    assert bad[10] == f"{stamp},-{first},{second}"  # the first zone's count in the tenth interval
    assert (demo / "replay" / "2024-01-04.csv").is_file()  # delivered properly next time
