"""dpforecast.privacy.refusals: the privacy errors the CLI and the stages turn into one line and exit 2."""

from __future__ import annotations

import pytest

from dpforecast.errors import ConfigError
from dpforecast.privacy.charges import LaplaceRelease
from dpforecast.privacy.continual_release import ReleaseError
from dpforecast.privacy.ledger import BudgetExceededError, LedgerError, PrivacyLedger
from dpforecast.privacy.randomness import PrivacyKeyError
from dpforecast.privacy.refusals import PRIVACY_REFUSALS


def test_the_refusals_are_the_ledgers_the_keys_and_the_releases():
    assert PRIVACY_REFUSALS == (BudgetExceededError, LedgerError, PrivacyKeyError, ReleaseError)
    assert not any(issubclass(ConfigError, e) or issubclass(e, ConfigError) for e in PRIVACY_REFUSALS)


def test_a_budget_the_ledger_cannot_pay_is_a_refusal_and_charges_nothing(tmp_path):
    ledger = PrivacyLedger(str(tmp_path / "town.sqlite"), "town", {"event": 0.1}, 1e-6)
    with pytest.raises(PRIVACY_REFUSALS) as refused:
        ledger.charge("ip:1", {"event": LaplaceRelease(1.0, 1.0, True)}, "ip", "epsilon 1 of 0.1", "v1")
    assert isinstance(refused.value, BudgetExceededError) and "\n" not in str(refused.value)
    assert ledger.charges() == []
