"""Input perturbation survives retraining: five daily deliveries extend the release, charge nothing.

The series is Montreuil's without its last five days; each day is then delivered as an
increment and the pipeline (ingest, validate, release, features, training) runs again. After
the first release the ledger's spend on every unit stays as it was, every value released
before is byte-identical, and each delivery's model retrains on the longer release. A
restated interval is refused by name, and a release with other terms is a new one, charged.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from dpforecast.config import deep_merge, load_params
from dpforecast.data.schema import TIMESTAMP
from dpforecast.privacy.budget import open_ledger
from dpforecast.privacy.continual_release import ReleaseError
from dpforecast.privacy.discrete_gaussian_accounting import discrete_epsilon
from dpforecast.runtime.paths import Paths
from dpforecast.stages.release import release
from dpforecast.stages.train import train_one
from dpforecast.stages.workspace import build_workspace

from project_roots import REPO, TINY, make_root

DAYS = 5
IP = deep_merge(TINY, {"privacy": {"mode": "ip", "unit": "person"}, "train": {"model": "gru"}})


def _split(tmp: Path) -> tuple[Path, list[tuple[str, str]]]:
    """The raw CSV without its last ``DAYS`` days, and those days as (date, CSV text)."""
    lines = (REPO / "data" / "montreuil" / "ML_final_df_real.csv").read_bytes().decode().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    dates = sorted({r.split(",")[0] for r in rows})[-DAYS:]
    base = tmp / "base.csv"
    base.write_bytes((header + "".join(r for r in rows if r.split(",")[0] not in dates)).encode())
    return base, [(d, header + "".join(r for r in rows if r.split(",")[0] == d)) for d in dates]


def _spends(params) -> dict[str, float]:
    report = open_ledger(params).report()
    return {u.unit: u.spend.epsilon for u in report.units}


def _released(tmp: Path) -> tuple[Path, Paths, list[tuple[str, str]]]:
    """A project on the series without its last days, released; and those days."""
    base, days = _split(tmp)
    root = make_root(tmp / "project", IP, raw_csv=base)
    paths = Paths(root)
    build_workspace(root, load_params(root / "params.yaml"), paths)
    return root, paths, days


@pytest.mark.real_data
def test_five_deliveries_extend_the_release_and_charge_nothing(tmp_path: Path) -> None:
    root, paths, days = _released(tmp_path)
    params = load_params(root / "params.yaml")
    first = pl.read_parquet(paths.release_series)
    spends = _spends(params)
    assert len(open_ledger(params).charges()) == 1
    meta = json.loads(paths.release_metadata.read_text())
    # epsilon 1 per person at the release's delta (1e-7) is less at the budget's (1e-6)
    assert meta["unit_epsilons"]["person"] == pytest.approx(1.0, rel=1e-3)
    assert spends["person"] == pytest.approx(
        discrete_epsilon(meta["scale"], meta["terms"]["shift"], meta["terms"]["coordinates"],
                         params.privacy.budget.delta), rel=0.01)
    assert spends["event"] < spends["day"] < spends["week"] < spends["person"] < 1.0
    train_one(paths, params, "gru", track=False, progress=False)

    increments = root / "data" / "montreuil" / "increments"
    increments.mkdir()
    released = first
    for n, (day, text) in enumerate(days, start=1):
        (increments / f"{day}.csv").write_bytes(text.encode())
        build_workspace(root, params, paths)
        now = pl.read_parquet(paths.release_series)
        assert now.height == first.height + 48 * n
        # every value released before is exactly as it was
        assert now.head(released.height).equals(released)
        assert _spends(params) == spends and len(open_ledger(params).charges()) == 1
        result = train_one(paths, params, "gru", track=False, progress=False)
        assert result.privacy.unit_name == "person"
        released = now
    assert str(released[TIMESTAMP].max()).startswith("2020-11-04 23:30")


@pytest.mark.real_data
def test_restated_interval_is_refused_and_new_terms_start_a_new_release(tmp_path: Path) -> None:
    root, paths, _ = _released(tmp_path)
    params = load_params(root / "params.yaml")
    before = pl.read_parquet(paths.release_series)

    # The operator restates one interval already released: refused, the release untouched.
    raw = root / params.data_set.raw
    text = raw.read_bytes().decode()
    lines = text.splitlines(keepends=True)
    cells = lines[10].rstrip("\r\n").split(",")
    cells[2], cells[-1] = str(int(cells[2]) + 7), str(int(cells[-1]) + 7)  # R1 and the total
    lines[10] = ",".join(cells) + "\r\n"
    raw.write_bytes("".join(lines).encode())
    with pytest.raises(ReleaseError, match="released and its counts have changed"):
        build_workspace(root, params, paths)
    assert pl.read_parquet(paths.release_series).equals(before)
    raw.write_bytes(text.encode())

    # Other terms (epsilon) are another release: new noise everywhere, charged again.
    other = load_params(root / "params.yaml", privacy={"epsilon": 2.0})
    release(paths, other)
    again = pl.read_parquet(paths.release_series)
    assert not again.equals(before)
    assert len(open_ledger(params).charges()) == 2


@pytest.mark.real_data
def test_an_interval_released_before_is_not_noised_again_and_a_foreign_release_is_refused(tmp_path: Path) -> None:
    root, paths, days = _released(tmp_path)
    params = load_params(root / "params.yaml")
    old = tmp_path / "old-release"
    shutil.copytree(paths.release_dir, old)
    increments = root / "data" / "montreuil" / "increments"
    increments.mkdir()
    (increments / f"{days[0][0]}.csv").write_bytes(days[0][1].encode())
    build_workspace(root, params, paths)
    current = pl.read_parquet(paths.release_series)

    # A rolled-back copy (dvc checkout of an older commit) would noise the delivered day again.
    shutil.rmtree(paths.release_dir)
    shutil.copytree(old, paths.release_dir)
    with pytest.raises(ReleaseError, match="released before"):
        release(paths, params)
    assert pl.read_parquet(paths.release_series).height == current.height - 48

    # A release charged to another ledger is not extended for free on this one.
    shutil.rmtree(paths.release_dir)
    shutil.copytree(old, paths.release_dir)
    os.environ["DPFORECAST_HOME"] = str(tmp_path / "another-home")
    with pytest.raises(ReleaseError, match="never charged to this data set's ledger"):
        release(paths, params)
    assert open_ledger(params).charges() == []


@pytest.mark.parametrize("text", ["not json", '{"mode": "ip", "format": 3, "terms": 3}', "[1, 2]"])
@pytest.mark.real_data
def test_damaged_release_metadata_is_refused_by_name_and_nothing_charged(tmp_path: Path, text: str) -> None:
    root, paths, _ = _released(tmp_path)
    params = load_params(root / "params.yaml")
    paths.release_metadata.write_text(text)
    series = paths.release_series.read_bytes()
    with pytest.raises(ReleaseError, match="release.json: not a release's metadata"):
        release(paths, params)
    assert paths.release_series.read_bytes() == series and len(open_ledger(params).charges()) == 1
