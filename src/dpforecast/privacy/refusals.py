"""The privacy refusals a user can act on: each is one line, a non-zero exit, nothing charged or written."""

from __future__ import annotations

from dpforecast.privacy.continual_release import ReleaseError
from dpforecast.privacy.ledger import BudgetExceededError, LedgerError
from dpforecast.privacy.randomness import PrivacyKeyError

PRIVACY_REFUSALS: tuple[type[BaseException], ...] = (BudgetExceededError, LedgerError, PrivacyKeyError, ReleaseError)
