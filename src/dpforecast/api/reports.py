"""The privacy of a fitted :class:`~dpforecast.api.forecast.DPForecast`, model by model."""

from __future__ import annotations

from dataclasses import dataclass

from dpforecast.privacy.report import PrivacyReport


@dataclass(frozen=True)
class PrivacyReports:
    """Each model's guarantee; under input perturbation every model shares the release's."""

    dataset: str
    release: PrivacyReport | None
    models: dict[str, PrivacyReport]

    def summary(self) -> dict[str, str]:
        """Model -> its guarantee in one line (epsilon, delta, accountant, unit)."""
        return {name: report.summary() for name, report in self.models.items()}

    def to_markdown(self) -> str:
        lines = [f"# Privacy of the forecasts of {self.dataset}", ""]
        lines += [f"- **{name}**: {line}" for name, line in self.summary().items()]
        shown = [("the release every model was fitted on", self.release)] if self.release is not None else [
            (name, r) for name, r in self.models.items() if r.private]
        for title, report in shown:
            lines += ["", f"## {title}", "", report.to_markdown()]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_markdown()
