"""Refuse privacy parameters that would give no valid guarantee, before any data is touched.

Every message starts with the dotted parameter name (``privacy.delta: ...``), as
:mod:`dpforecast.config` does for the other sections.

Enumerations (``privacy.mode``, ``privacy.ip.mechanism``, ``privacy.gp.accountant``) are
checked whatever the mode, so a typo is caught even in a section the run does not use;
numeric values are checked for the mode that uses them (``ip`` or ``gp``). ``mode: none``
needs nothing else.
"""

from __future__ import annotations

import math

from dpforecast.config import ACCOUNTANTS, IP_MECHANISMS, PRIVACY_MODES, PrivacyParams
from dpforecast.errors import ConfigError


class PrivacyConfigError(ConfigError):
    """A privacy parameter is missing or out of range (the message names it)."""


def _refuse(name: str, message: str) -> None:
    raise PrivacyConfigError(f"{name}: {message}")


def _finite_positive(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def check_privacy(privacy: PrivacyParams, n_train_windows: int | None = None) -> None:
    """Raise :class:`PrivacyConfigError` for the first bad privacy parameter; return None if all are fine.

    ``n_train_windows``: the number of training windows (DP-SGD's records), when known;
    DP-SGD then needs ``privacy.delta < 1 / n_train_windows`` (a delta of ``1/n`` allows
    publishing one record in the clear).
    """
    if privacy.mode not in PRIVACY_MODES:
        _refuse("privacy.mode", f"must be one of {PRIVACY_MODES}, got {privacy.mode!r}")
    if privacy.ip.mechanism not in IP_MECHANISMS:
        _refuse("privacy.ip.mechanism", f"must be one of {IP_MECHANISMS}, got {privacy.ip.mechanism!r}")
    if privacy.gp.accountant not in ACCOUNTANTS:
        _refuse("privacy.gp.accountant", f"must be one of {ACCOUNTANTS}, got {privacy.gp.accountant!r}")
    if privacy.mode == "none":
        return

    if not _finite_positive(privacy.epsilon):
        _refuse("privacy.epsilon", f"must be a positive finite number for mode {privacy.mode!r}, got {privacy.epsilon!r}")
    budget = privacy.budget
    for unit in ("event", "day", "week", "person"):
        value = getattr(budget, unit)
        if value is not None and not _finite_positive(value):
            _refuse(f"privacy.budget.{unit}", f"must be a positive finite epsilon or null (tracked, not limited), "
                                              f"got {value!r}")
    if not (isinstance(budget.delta, (int, float)) and 0.0 < budget.delta < 1.0):
        _refuse("privacy.budget.delta", f"must be in (0, 1), got {budget.delta!r}")

    laplace = privacy.mode == "ip" and privacy.ip.mechanism == "discrete_laplace"
    delta = privacy.delta
    if laplace:  # pure epsilon-DP: delta is not used, 0 is fine
        if not (isinstance(delta, (int, float)) and 0.0 <= delta < 1.0):
            _refuse("privacy.delta", f"must be in [0, 1), got {delta!r}")
    elif not (isinstance(delta, (int, float)) and 0.0 < delta < 1.0):
        _refuse("privacy.delta", f"must be in (0, 1) for mode {privacy.mode!r}, got {delta!r}")

    if privacy.mode == "ip":
        return

    gp = privacy.gp
    if gp.max_grad_norm is None or not _finite_positive(gp.max_grad_norm):
        _refuse(
            "privacy.gp.max_grad_norm",
            f"DP-SGD needs a positive finite clipping norm, got {gp.max_grad_norm!r}",
        )
    if gp.noise_multiplier is not None and not _finite_positive(gp.noise_multiplier):
        _refuse(
            "privacy.gp.noise_multiplier",
            f"must be positive (a private run never trains without noise) or null to search the "
            f"multiplier that meets privacy.epsilon, got {gp.noise_multiplier!r}",
        )
    if n_train_windows is not None:
        if n_train_windows < 1:
            _refuse("privacy.delta", f"DP-SGD needs training windows, got n = {n_train_windows}")
        if delta >= 1.0 / n_train_windows:
            _refuse(
                "privacy.delta",
                f"DP-SGD needs delta < 1/n = 1/{n_train_windows} = {1.0 / n_train_windows:.3g} "
                f"(n = training windows), got {delta:g}",
            )
