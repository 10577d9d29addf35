"""dpforecast.api.reports: each model's guarantee, in one line and as markdown."""

from __future__ import annotations

from dpforecast.api.reports import PrivacyReports
from dpforecast.privacy.report import PrivacyReport

RELEASE = PrivacyReport(mode="ip", mechanism="discrete_gaussian", unit="one event", epsilon=1.0, delta=1e-7)
TRAINED = PrivacyReport(mode="gp", mechanism="gaussian", unit="one day", epsilon=2.5, delta=1e-7, accountant="pld",
                        steps=1200, sample_rate=0.02, noise_multiplier=1.1, max_grad_norm=1.0)
NONE = PrivacyReport.non_private()


def test_the_summary_is_each_models_guarantee_in_one_line():
    reports = PrivacyReports("town", None, {"gru": TRAINED, "ridge": NONE})
    assert reports.summary() == {"gru": TRAINED.summary(), "ridge": "not private (no differential privacy guarantee)"}


def test_under_input_perturbation_the_markdown_details_the_release_once():
    reports = PrivacyReports("town", RELEASE, {"gru": RELEASE, "ridge": RELEASE})
    text = reports.to_markdown()
    assert text.startswith("# Privacy of the forecasts of town\n\n")
    assert f"- **gru**: {RELEASE.summary()}\n- **ridge**: {RELEASE.summary()}" in text
    assert text.count("## the release every model was fitted on") == 1
    assert text.count(RELEASE.to_markdown()) == 1 and text.endswith("\n") and str(reports) == text


def test_otherwise_each_private_model_is_detailed_and_the_others_only_listed():
    text = PrivacyReports("town", None, {"gru": TRAINED, "ridge": NONE}).to_markdown()
    assert "\n## gru\n" in text and TRAINED.to_markdown() in text
    assert "## ridge" not in text and "- **ridge**: not private" in text
    assert "release every model" not in text
