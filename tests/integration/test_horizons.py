"""Direct multi-step forecasts: horizons and windows as durations, the head's lead-major
layout, residual baselines at every lead, and the engines' per-sample gradients for H > 1.

- ``features.window`` / ``horizon`` / ``evaluate.plot_lead`` take steps or durations,
  resolved on the data set's interval (``1d`` is 48 steps at Montreuil, 24 at Auckland);
  durations that are not whole intervals, and leads beyond the horizon, are refused by name.
- A model forecasts ``(n, horizon, zones)``; its scaled output is lead-major, as
  ``scale_targets`` flattens the targets, so every engine's loss pairs the same numbers.
- An untrained residual model forecasts persistence at every lead, or with ``season`` the
  count one season before each target, which is inside the window (never past the origin).
- Cell gradients equal Opacus's and ``torch.func``'s for a multi-step residual model.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from unit.models.test_residual import TOLERANCE, _per_sample

from dpforecast.config import load_params
from dpforecast.errors import ConfigError
from dpforecast.features.scaling import Scaler
from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.models.persistence import persistence_forecast
from dpforecast.models.store import load_forecaster, save_forecaster
from dpforecast.training.cell_gradients import CellGradients
from dpforecast.training.dp_sgd import FunctorchEngine, OpacusHooks
from dpforecast.training.loop import predict

from project_roots import REPO

PARAMS = REPO / "params.yaml"


def test_durations_resolve_on_the_data_sets_interval():
    day = {"window": "1d", "horizon": "1d"}
    montreuil = load_params(PARAMS, features=day, evaluate={"plot_lead": "12h"})
    assert (montreuil.features.window, montreuil.features.horizon, montreuil.plot_lead()) == (48, 48, 24)
    auckland = load_params(PARAMS, dataset="auckland", features=day)
    assert (auckland.features.window, auckland.features.horizon, auckland.plot_lead()) == (24, 24, 24)
    assert load_params(PARAMS, profile="day-ahead").features.horizon == 48
    assert load_params(PARAMS).plot_lead() == 1


@pytest.mark.parametrize(("over", "match"), [
    ({"features": {"horizon": "45min"}}, "features.horizon: 45min is not a whole \\(positive\\) number of 30-minute"),
    ({"features": {"window": "0h"}}, "features.window: 0h is not a whole \\(positive\\) number"),
    ({"features": {"window": "2 weeks"}}, "features.window: '2 weeks' is not a duration"),
    ({"features": {"horizon": 0}}, "features.horizon: must be at least 1"),
    ({"features": {"horizon": 4}, "evaluate": {"plot_lead": 5}}, "evaluate.plot_lead: 5 is lead 5, beyond"),
    ({"features": {"horizon": "1d", "window": 6}, "train": {"residual": "seasonal"}}, "train.residual: seasonal needs"),
])
def test_bad_horizons_are_refused_by_name(over, match):
    with pytest.raises(ConfigError, match=match):
        load_params(PARAMS, **over)


def test_day_ahead_registers_under_its_own_names():
    assert load_params(PARAMS).model_prefix() == "mobility"
    assert load_params(PARAMS, profile="day-ahead").model_prefix() == "mobility-h48"


def _windows(n: int, window: int, horizon: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    counts = torch.randint(0, 3000, (n, window, 3), generator=g).float()
    calendar = torch.rand(n, window, 4, generator=g) * 2 - 1
    return torch.cat([counts, calendar], dim=-1), torch.randint(0, 3000, (n, horizon, 3), generator=g).float()


@pytest.mark.parametrize("arch", ["gru", "bilstm"])
def test_a_model_forecasts_every_lead_and_its_scaled_output_is_lead_major(arch, tmp_path):
    x, y = _windows(5, 8, 4)
    model = Forecaster(ModelSpec(arch, 6, "tanh", 8, 7, 3, horizon=4), Scaler.fit(x.numpy(), y.numpy(), 3))
    assert model.head.out_features == 12 and model(x).shape == (5, 4, 3)
    scaled = model.scale_targets(y)
    assert scaled.shape == (5, 12)
    torch.testing.assert_close(scaled.unflatten(1, (4, 3))[:, 2], (y[:, 2] - model.y_mean) / model.y_std)
    with torch.no_grad():
        raw = model.forward_scaled(x).unflatten(1, (4, 3)) * model.y_std + model.y_mean
    torch.testing.assert_close(model(x), raw.clamp(min=0))
    save_forecaster(model, tmp_path)
    assert load_forecaster(tmp_path).spec.horizon == 4
    assert predict(load_forecaster(tmp_path), x.numpy(), "cpu").shape == (5, 4, 3)
    assert predict(model, x.numpy()[:0], "cpu").shape == (0, 4, 3)


def test_an_untrained_residual_model_is_persistence_at_every_lead():
    x, y = _windows(6, 8, 5)
    model = Forecaster(ModelSpec("gru", 6, "tanh", 8, 7, 3, residual=True, horizon=5), Scaler.fit(x.numpy(), y.numpy(), 3))
    with torch.no_grad():
        torch.testing.assert_close(model(x), torch.as_tensor(persistence_forecast(x.numpy(), 3, 5)), rtol=1e-5, atol=1e-3)


def test_a_seasonal_residual_model_starts_from_the_same_time_one_season_before():
    """Season 6 steps, window 8, horizon 4: lead h's baseline is input row 8 - 1 - 6 + h."""
    x, y = _windows(6, 8, 4)
    model = Forecaster(ModelSpec("lstm", 6, "tanh", 8, 7, 3, residual=True, horizon=4, season=6),
                       Scaler.fit(x.numpy(), y.numpy(), 3))
    with torch.no_grad():
        torch.testing.assert_close(model(x), x[:, [2, 3, 4, 5], :3], rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("season", [0, 4])
@pytest.mark.parametrize("arch", ["gru", "bilstm"])
def test_per_sample_gradients_of_a_multi_step_model_equal_opacus_and_torch_func(arch, season):
    x, y = _windows(5, 6, 3)
    torch.manual_seed(0)
    model = Forecaster(ModelSpec(arch, 5, "relu", 6, 7, 3, log_counts=True, residual=True, horizon=3, season=season),
                       Scaler.log_counts(7, 3))
    with torch.no_grad():
        model.head.weight.add_(0.3 * torch.randn_like(model.head.weight))
    ours = _per_sample(CellGradients(), copy.deepcopy(model), x, y, "mse")
    for reference in (OpacusHooks(), FunctorchEngine()):
        theirs = _per_sample(reference, copy.deepcopy(model), x, y, "mse")
        for k, g in theirs.items():
            torch.testing.assert_close(ours[k], g, **TOLERANCE[torch.float32], msg=lambda m: f"{reference.name} {k}: {m}")
    assert np.isfinite(ours["head.weight"].numpy()).all()


@pytest.mark.parametrize(("over", "season"), [
    ({"profile": "day-ahead", "privacy": {"mode": "gp"}, "features": {"scaling": "log"}}, 48),  # auto, DP-SGD, a day ahead
    ({"privacy": {"mode": "gp"}, "features": {"scaling": "log"}}, 0),                           # auto, DP-SGD, one step
    ({"profile": "day-ahead"}, 0),                                                             # auto, not private: off
    ({"profile": "day-ahead", "train": {"residual": "seasonal"}}, 48),
    ({"profile": "day-ahead", "train": {"residual": True}}, 0),
])
def test_which_baseline_a_residual_model_starts_from(over, season):
    params = load_params(PARAMS, **over)
    assert params.residual_season() == season
    assert params.residual() is (season > 0 or over.get("train", {}).get("residual") is True
                                 or over.get("privacy", {}).get("mode") == "gp")


@pytest.mark.real_data
def test_a_dp_sgd_day_ahead_project_is_scored_at_every_lead_with_no_interval(tmp_path):
    """Under DP-SGD no interval is calibrated by default, yet every output the DVC stage
    declares is written (the fan plot without bands), and the model starts from yesterday."""
    from dpforecast.config import deep_merge
    from dpforecast.runtime.io import read_json
    from dpforecast.runtime.project import load_project
    from dpforecast.stages.evaluate import evaluate
    from dpforecast.stages.train import train
    from dpforecast.stages.workspace import build_workspace

    from project_roots import TINY, make_root

    over = deep_merge(TINY, {"profile": "day-ahead", "privacy": {"mode": "gp"}, "features": {"scaling": "log"},
                             "train": {"model": "gru", "epochs": 1, "batch_size": 512}})
    root = make_root(tmp_path, over)
    paths, params = load_project(root)
    build_workspace(root, params, paths)
    [result] = train(paths, params, progress=False)
    assert result.description["params"]["train.residual_season"] == 48 and result.privacy.windows_per_unit == 96
    scores = evaluate(paths, params, track=False)
    assert len(scores["gru"]["by_lead"]["rmse"]) == 48 and "coverage" not in scores["gru"]
    # no interval of the DP-SGD network; AutoETS's own (a baseline on raw counts, labelled not private)
    assert set(read_json(paths.metric("coverage_95"))) == {"dataset", "horizon", "autoets"}
    assert read_json(paths.metric("privacy"))["gru"].startswith("ε ") and read_json(paths.metric("epsilon"))["gru"] > 0
    assert not (paths.model_dir("gru") / "intervals.json").exists()
    for plot in ("forecast", "fan", "leads", "training_curves"):
        assert (paths.plots_dir / f"{plot}.png").is_file()
