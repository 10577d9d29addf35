"""Starting a release: its scale from the accountant, charged on every tracked unit first."""

from __future__ import annotations

import pytest

from dpforecast.config import params_from_dict, resolve
from dpforecast.data import synthetic
from dpforecast.data.spec import spec_from_dict
from dpforecast.privacy.budget import open_ledger
from dpforecast.privacy.continual_release import release_terms
from dpforecast.privacy.release_start import start_release


def test_a_release_is_charged_on_every_tracked_unit_with_its_own_epsilon():
    frame = synthetic.generate(zones=3, days=2, interval_minutes=60)
    spec = spec_from_dict(synthetic.spec_dict(frame, "town", "town.csv"), "town.yaml")
    params = resolve(params_from_dict({"dataset": "town", "privacy": {"mode": "ip", "epsilon": 1.0}}), spec)
    terms = release_terms(params)
    info = start_release(params, terms, "operating system", "v1")
    assert info.scale == pytest.approx(terms.scale()) and info.terms == terms
    [charge] = open_ledger(params).charges()
    assert charge.key == f"ip-release:{info.release_id}" and charge.mode == "ip" and charge.data_version == "v1"
    assert set(charge.mechanisms) == set(info.unit_epsilons) >= {"event", "day", "week"}
    assert info.unit_epsilons["event"] == pytest.approx(1.0, abs=1e-3)  # the unit the release was asked for
    assert info.unit_epsilons["day"] > info.unit_epsilons["event"]
