"""dpforecast.privacy.budget: the units a data set's ledger tracks, and what a release or a DP-SGD training
costs on each (on a synthetic data set of disjoint hourly zones)."""

from __future__ import annotations

from dpforecast.privacy.budget import (
    MAX_ACCOUNTED_WINDOWS,
    dp_sgd_schedule,
    ledger_units,
    noise_for,
    open_ledger,
    release_mechanisms,
    training_mechanisms,
)
from dpforecast.privacy.charges import DiscreteGaussianRelease, LaplaceRelease, SubsampledGaussian, Vacuous
from dpforecast.privacy.dp_sgd_accountant import DPSGDAccountant

from synthetic_project import synthetic_params


def test_the_ledger_tracks_event_day_week_and_person_only_with_a_protected_period():
    units = ledger_units(synthetic_params())
    assert {name: u.intervals for name, u in units.items()} == {"event": 1, "day": 24, "week": 168}
    with_person = ledger_units(synthetic_params(protected_period_days=30, privacy={"unit": "day"}))
    assert list(with_person) == ["event", "day", "week", "person"] and with_person["person"].intervals == 30 * 24


def test_the_ledger_is_the_data_sets_with_the_configured_budgets(tmp_path):
    params = synthetic_params(privacy={"budget": {"event": 2.0, "day": None, "week": 9.0, "delta": 1e-5}})
    ledger = open_ledger(params, str(tmp_path / "town.sqlite"))
    assert ledger.dataset == "town" and ledger.location == str(tmp_path / "town.sqlite")
    assert ledger.budgets == {"event": 2.0, "day": None, "week": 9.0} and ledger.delta == 1e-5
    assert ledger.charges() == [] and not (tmp_path / "town.sqlite").exists()  # opening writes nothing


def test_a_release_costs_each_unit_the_same_noise_against_what_the_unit_changes():
    gaussian = release_mechanisms(synthetic_params(), 3.0)
    assert gaussian == {"event": DiscreteGaussianRelease(3.0, 1, 1), "day": DiscreteGaussianRelease(3.0, 1, 24),
                        "week": DiscreteGaussianRelease(3.0, 1, 168)}
    laplace = release_mechanisms(synthetic_params(privacy={"ip": {"mechanism": "discrete_laplace"}}), 5.0)
    assert laplace == {"event": LaplaceRelease(5.0, 1.0, True), "day": LaplaceRelease(5.0, 24.0, True),
                       "week": LaplaceRelease(5.0, 168.0, True)}


def test_a_training_costs_each_unit_the_windows_it_touches_and_a_huge_unit_is_vacuous():
    params = synthetic_params(protected_period_days=200)  # window 6, horizon 1: a unit of k intervals touches k + 6 windows
    out = training_mechanisms(params, 1.2, 0.01, 500, 10_000)
    assert out["event"] == SubsampledGaussian(1.2, 0.01, 500, 7, 2.0)
    assert (out["day"].windows, out["week"].windows) == (30, 174)
    assert 200 * 24 + 6 > MAX_ACCOUNTED_WINDOWS and isinstance(out["person"], Vacuous)
    assert "one person touches 4806 of the 10000 training windows" in out["person"].reason
    few = training_mechanisms(params, 1.2, 0.5, 10, 20)  # no unit touches more windows than there are
    assert {u: m.windows for u, m in few.items() if u != "person"} == {"event": 7, "day": 20, "week": 20}


def test_the_schedule_samples_batch_over_n_and_takes_a_configured_noise_as_is():
    params = synthetic_params(privacy={"mode": "gp", "gp": {"noise_multiplier": 1.5}}, train={"epochs": 3})
    assert dp_sgd_schedule(params, 64, 640) == (0.1, 30, 1.5)
    assert dp_sgd_schedule(params, 64, 32) == (1.0, 3, 1.5)  # a batch larger than the data: every window each step


def test_the_noise_search_is_the_accountant_on_the_units_windows_and_cached(monkeypatch):
    calls = []

    def search(self, epsilon, sample_rate, steps, delta):
        calls.append((self.name, self.windows, self.sensitivity_per_window, epsilon, sample_rate, steps, delta))
        return 2.0

    monkeypatch.setattr(DPSGDAccountant, "noise_for", search)
    noise_for.cache_clear()
    day = ledger_units(synthetic_params())["day"]
    window = synthetic_params(privacy={"unit": "window"}).privacy_unit()
    assert noise_for(1.0, 1e-7, 0.1, 50, day, 6, 1, "pld") == 2.0
    assert noise_for(1.0, 1e-7, 0.1, 50, day, 6, 1, "pld") == 2.0  # cached: searched once
    assert noise_for(1.0, 1e-7, 0.1, 50, window, 6, 1, "rdp") == 2.0
    assert calls == [("pld", 30, 2.0, 1.0, 0.1, 50, 1e-7), ("rdp", 1, 1.0, 1.0, 0.1, 50, 1e-7)]
    noise_for.cache_clear()  # no stand-in's answer stays cached for another test
