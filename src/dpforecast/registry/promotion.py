"""The promotion rule: when a challenger may replace the champion, and why.

Pure decisions on numbers and guarantees, no MLflow, so the rule is tested exhaustively
and reads the same in the decision log as in the code. A private champion is compared
only with challengers whose guarantee is the same or stricter (same mode and unit, epsilon
and delta no larger): a better error bought with a weaker guarantee is not an improvement
this product may make on its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Epsilons computed twice by one accountant may differ in the last digits.
_EPS_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Guarantee:
    private: bool
    mode: str = "none"
    unit: str | None = None
    epsilon: float | None = None
    delta: float | None = None

    @classmethod
    def from_report(cls, report: dict[str, Any]) -> Guarantee:
        if not report.get("private"):
            return cls(False)
        return cls(True, report["mode"], report["unit"], float(report["epsilon"]), float(report["delta"]))

    def describe(self) -> str:
        if not self.private:
            return "not private"
        return f"{self.mode} ε={self.epsilon:.4g} δ={self.delta:.3g} per {self.unit}"

    def as_strict_as(self, other: Guarantee) -> tuple[bool, str]:
        """Whether this guarantee is the same as or stricter than ``other``, and why not."""
        if not other.private:
            return True, "the champion is not private"
        if not self.private:
            return False, f"a non-private challenger cannot replace a private champion ({other.describe()})"
        if (self.mode, self.unit) != (other.mode, other.unit):
            return False, (f"guarantees are not comparable: {self.mode} per {self.unit} against "
                           f"{other.mode} per {other.unit}")
        assert self.epsilon is not None and other.epsilon is not None
        if self.epsilon > other.epsilon * (1 + _EPS_TOLERANCE) or (self.delta or 0) > (other.delta or 0):
            return False, f"the challenger's guarantee ({self.describe()}) is looser than the champion's ({other.describe()})"
        return True, "the challenger's guarantee is the same or stricter"


@dataclass(frozen=True)
class Scored:
    """A model version scored on the current test windows; ``score`` None with ``unscored``
    saying why when it cannot be (it cannot forecast every test window and lead)."""

    version: str
    score: float | None
    guarantee: Guarantee
    unscored: str = ""


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    metric: str
    challenger: Scored
    champion: Scored | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        """The decision :meth:`to_json` wrote (as read back from the decisions log)."""

        def scored(d: dict[str, Any] | None) -> Scored | None:
            if d is None:
                return None
            score = None if d["score"] is None else float(d["score"])
            return Scored(str(d["version"]), score, Guarantee(**d["guarantee"]), d.get("unscored", ""))

        challenger = scored(data["challenger"])
        assert challenger is not None
        return cls(bool(data["promote"]), data["reason"], data["metric"], challenger, scored(data["champion"]))


def decide(challenger: Scored, champion: Scored | None, metric: str, margin: float) -> Decision:
    """Promote when there is no champion, or when the challenger's guarantee is at least as
    strict and its error is below ``(1 - margin)`` times the champion's.

    A challenger that cannot be scored is never promoted; a champion that cannot be scored
    on the current test windows cannot serve them either, and gives way to a challenger
    that can (if its guarantee is at least as strict)."""
    if challenger.score is None:
        return Decision(False, f"not promotable: it cannot be scored on the current test windows: {challenger.unscored}",
                        metric, challenger, champion)
    if champion is None:
        return Decision(True, "no champion yet", metric, challenger, None)
    if champion.version == challenger.version:
        return Decision(False, "the challenger is already the champion", metric, challenger, champion)
    strict, why = challenger.guarantee.as_strict_as(champion.guarantee)
    if not strict:
        return Decision(False, why, metric, challenger, champion)
    if champion.score is None:
        return Decision(True, (f"the champion (version {champion.version}) cannot be scored on the current test windows "
                               f"({champion.unscored}); the challenger can; {why}"), metric, challenger, champion)
    bar = champion.score * (1 - margin)
    if challenger.score < bar:
        return Decision(True, (f"{metric} {challenger.score:.2f} beats the champion's {champion.score:.2f} "
                               f"by more than {margin:.1%} (bar {bar:.2f}); {why}"), metric, challenger, champion)
    return Decision(False, (f"{metric} {challenger.score:.2f} does not beat the champion's {champion.score:.2f} "
                            f"by more than {margin:.1%} (bar {bar:.2f})"), metric, challenger, champion)
