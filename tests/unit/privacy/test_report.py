"""The privacy report as a record: strict JSON both ways, and what it prints without a guarantee."""

from __future__ import annotations

import json
import math

import pytest

from dpforecast.privacy.report import PrivacyReport


def test_non_private_report_is_strict_json():
    r = PrivacyReport.non_private()
    assert not r.private and r.summary().startswith("not private")
    text = json.dumps(r.to_json(), allow_nan=False)
    data = json.loads(text)
    assert data["private"] is False and data["epsilon"] is None
    back = PrivacyReport.from_json(data)
    assert back.epsilon == math.inf and back == r
    assert "not private" in r.to_markdown().lower()
    with pytest.raises(ValueError, match="private"):
        PrivacyReport.from_json({**data, "private": True})


def test_a_report_holds_and_prints_the_numbers_it_is_given():
    """No accountant behind it: the numbers in are the numbers out, in JSON and in words."""
    r = PrivacyReport(mode="gp", mechanism="dp-sgd", unit="one event", epsilon=0.5, delta=1e-7, accountant="pld",
                      epsilons={"pld": 0.5, "rdp": 0.61}, steps=100, windows_per_unit=7,
                      neighbouring="replace one unit's counts",
                      unit_epsilons=[{"unit": "day", "description": "one day", "windows_per_unit": 54,
                                      "epsilon": None, "epsilon_rdp_upper": math.inf, "delta": 1e-7,
                                      "sensitivity": "2C per window"}])
    assert r.summary() == "ε = 0.5 (δ = 1e-7, PLD (dp_accounting)) per one event"
    data = json.loads(json.dumps(r.to_json(), allow_nan=False))
    assert data["epsilons"] == {"pld": 0.5, "rdp": 0.61} and data["unit_epsilons"][0]["epsilon_rdp_upper"] is None
    md = r.to_markdown()
    assert "| ε, RDP | 0.61 |" in md and "For comparison (RDP): ε = 0.61 at δ = 1e-7 per one event." in md
    assert "ε above 100 (a smaller unit's bound already is): no meaningful protection" in PrivacyReport.from_json(
        data).to_markdown()
