"""dpforecast.stages.accept: new deliveries become increments, and a new data version only when one was accepted."""

from __future__ import annotations

import pytest
import yaml

from dpforecast.config import load_params
from dpforecast.stages import accept as accept_stage
from dpforecast.stages.accept import accept

from synthetic_project import make_synthetic_root

DAY = 24  # hourly rows


@pytest.fixture
def root(tmp_path):
    """Three synthetic days: the first two are the data, the third waits in the incoming folder."""
    root = make_synthetic_root(tmp_path / "p", days=3)
    spec_path = root / "datasets" / "town.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["files"]["increments"] = "data/town/increments"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    csv = root / "data" / "town" / "town.csv"
    header, *rows = csv.read_text().splitlines(keepends=True)
    csv.write_text(header + "".join(rows[: 2 * DAY]))
    (root / "data" / "incoming" / "town").mkdir(parents=True)
    (root / "data" / "incoming" / "town" / "day3.csv").write_text(header + "".join(rows[2 * DAY:]))
    return root


def test_an_accepted_delivery_outside_dvc_has_no_new_version(root):
    done = accept(root, load_params(root / "params.yaml"))
    assert [a.name for a in done.accepted] == ["day3.csv"] and done.refused == []
    assert (done.data_version, done.versioned) == (None, False)
    assert (root / "data" / "town" / "increments" / "day3.csv").is_file()


def test_in_a_dvc_repository_an_acceptance_is_committed_and_a_refusal_is_not(root, monkeypatch):
    (root / ".dvc").mkdir()
    (root / "data.dvc").write_text("outs:\n- md5: old.dir\n  path: data\n")
    committed = []
    monkeypatch.setattr(accept_stage, "commit_data", lambda r: committed.append(r) or "new.dir")
    params = load_params(root / "params.yaml")
    done = accept(root, params)
    assert (done.data_version, done.versioned, committed) == ("new.dir", True, [root])
    incoming = root / "data" / "incoming" / "town"
    (incoming / "day3.csv").write_text((root / "data" / "town" / "increments" / "day3.csv").read_text())
    again = accept(root, params)  # the same day delivered twice
    assert [a.name for a in again.refused] == ["day3.csv"] and again.accepted == []
    assert "already accepted" in again.refused[0].message
    assert (again.data_version, again.versioned, committed) == ("old.dir", True, [root])  # dvc add not run again


def test_nothing_waiting_changes_nothing(root):
    (root / "data" / "incoming" / "town" / "day3.csv").unlink()
    done = accept(root, load_params(root / "params.yaml"))
    assert (done.arrivals, done.data_version, done.versioned) == ([], None, False)
