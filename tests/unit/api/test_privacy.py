"""Privacy as a value: what each mechanism sets in the parameters, and its saved form."""

from __future__ import annotations

from dpforecast.api.privacy import DPSGD, InputPerturbation, privacy_from_json, privacy_to_json
from dpforecast.config import params_from_dict


def test_each_mechanism_sets_the_parameters_the_pipeline_reads():
    ip = params_from_dict(InputPerturbation(epsilon=2, unit="day", mechanism="discrete_laplace").params())
    assert (ip.privacy.mode, ip.privacy.epsilon, ip.privacy.unit, ip.privacy.ip.mechanism) == (
        "ip", 2.0, "day", "discrete_laplace")
    gp = params_from_dict(DPSGD(epsilon=1, max_grad_norm=0.5, intervals=True).params())
    assert gp.privacy.mode == "gp" and gp.privacy.gp.max_grad_norm == 0.5 and gp.privacy.gp.intervals
    assert gp.features.scaling == "log"  # a fitted scaler would be an unaccounted statistic
    assert gp.train.residual is True and gp.train.batch_size == 512


def test_a_saved_privacy_value_reads_back_equal():
    for value in (None, InputPerturbation(epsilon=1.5, w=4, unit="w-event"), DPSGD(epsilon=3, ema=0.9)):
        assert privacy_from_json(privacy_to_json(value)) == value
