"""Starting an input-perturbation release: its scale from the accountant, charged first.

One definition for the ``release`` stage (a continual release on disk) and the in-memory
API (one release of the frame it is given): either way the charge lands on every tracked
unit of the data set's ledger before any count is read.
"""

from __future__ import annotations

from dpforecast.config import Params
from dpforecast.privacy.budget import open_ledger, release_mechanisms
from dpforecast.privacy.charges import epsilon_of
from dpforecast.privacy.continual_release import ReleaseInfo, ReleaseTerms, new_release_id


def start_release(params: Params, terms: ReleaseTerms, randomness: str, data_version: str) -> ReleaseInfo:
    """A new release: its scale from the accountant, charged on every tracked unit."""
    scale = terms.scale()
    mechanisms = release_mechanisms(params, scale)
    delta = terms.delta
    # the discrete Laplace is pure epsilon-DP (delta 0): its epsilon is the same at any delta
    at = delta if delta > 0 else params.privacy.budget.delta
    info = ReleaseInfo(release_id=new_release_id(), terms=terms, scale=scale, randomness=randomness,
                       unit_epsilons={u: epsilon_of(m, at) for u, m in mechanisms.items()})
    open_ledger(params).charge(f"ip-release:{info.release_id}", mechanisms, "ip",
                               f"{terms.mechanism} continual release at epsilon {terms.epsilon:g} per {terms.unit}",
                               data_version)
    return info
