"""The ``release`` stage (input perturbation) on the real series (the released-series suite alone:
tests/unit/validation/test_released.py).

The validated series is built from the real CSV once per module; the default release
(discrete Gaussian, epsilon 0.5 per event, not clipped, OS randomness) is made once, under
a module-wide private state, and inspected by several tests. Tests that look at the ledger
make their own release: each test has its own ``DPFORECAST_HOME`` (conftest), so the
module's charge is not theirs.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dpforecast.config import load_params
from dpforecast.data.ingest import drop_total, read_raw
from dpforecast.data.schema import TIMESTAMP
from dpforecast.errors import ConfigError
from dpforecast.privacy import release_start
from dpforecast.privacy.budget import open_ledger
from dpforecast.privacy.charges import DiscreteGaussianRelease, epsilon_of
from dpforecast.privacy.checks import PrivacyConfigError
from dpforecast.privacy.discrete import discrete_gaussian_sigma, discrete_laplace_scale
from dpforecast.privacy.ledger import BudgetExceededError
from dpforecast.runtime.paths import Paths
from dpforecast.stages import release as release_stage
from dpforecast.stages.release import (
    NO_RELEASE,
    PARQUET_METADATA_KEY,
    read_release_metadata,
    release,
    release_line,
)
from dpforecast.validation import DataValidationError
from dpforecast.validation.derive import to_series
from dpforecast.validation.released import validate_released

from montreuil_spec import SPEC, ZONES

PARAMS_YAML = Path(__file__).resolve().parents[3] / "params.yaml"
EPSILON = 0.5
# Montreuil's event: R1 and one IRIS, each moved by up to per_count = 3 people.
EVENT_L2 = 3 * math.sqrt(2)
EVENT_L1 = 3 * 2
RELEASE_KEYS = {"release_id", "terms", "scale", "unit_epsilons", "randomness", "deliveries", "format", "n_counts",
                "private", "mode", "notes"}
TERMS_KEYS = {"dataset", "mechanism", "epsilon", "delta", "unit", "unit_text", "sensitivity", "clip_at_zero",
              "unit_sensitivities", "shift", "coordinates"}
N_INTERVALS = 3456


def _params(**privacy):
    return load_params(PARAMS_YAML, privacy={"mode": "ip", "epsilon": EPSILON, **privacy})


def _root(tmp: Path, series_file: Path | None) -> Paths:
    """A project root holding the validated series (or none), as the stage finds it."""
    paths = Paths(tmp)
    if series_file is not None:
        paths.series.parent.mkdir(parents=True)
        shutil.copyfile(series_file, paths.series)
    return paths


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


@pytest.fixture(scope="module")
def series_file(tmp_path_factory: pytest.TempPathFactory, raw_csv_path: Path) -> Path:
    path = tmp_path_factory.mktemp("validated") / "series.parquet"
    drop_total(to_series(read_raw(raw_csv_path), SPEC)).write_parquet(path)
    return path


@pytest.fixture(scope="module")
def series(series_file: Path) -> pl.DataFrame:
    return pl.read_parquet(series_file)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, series_file: Path):
    """The default release, made under its own private state (module-scoped fixtures run
    before the per-test one that isolates the ledger, so this one isolates itself)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DPFORECAST_HOME", str(tmp_path_factory.mktemp("dpforecast-home")))
        for name in ("DPFORECAST_LEDGER", "DPFORECAST_PRIVACY_KEY", "DPFORECAST_PRIVACY_KEY_FILE"):
            mp.delenv(name, raising=False)
        paths = _root(tmp_path_factory.mktemp("project"), series_file)
        meta = release(paths, _params(), data_version="test-v1")
    return paths, meta


# --------------------------------------------------------------------------- the release


@pytest.mark.real_data
def test_metadata_json_describes_the_release(made, series: pl.DataFrame) -> None:
    paths, meta = made
    params = _params()
    written = json.loads(paths.release_metadata.read_text())
    assert written == meta
    assert set(written) == RELEASE_KEYS and set(written["terms"]) == TERMS_KEYS
    # Nothing that would let anyone regenerate the noise or confirm a guess of the data.
    text = paths.release_metadata.read_text()
    assert "seed" not in text and "md5" not in text
    terms = written["terms"]
    assert terms["dataset"] == "montreuil" and terms["mechanism"] == "discrete_gaussian"
    assert terms["epsilon"] == EPSILON and terms["delta"] == 1e-7
    assert terms["unit"] == "event" and terms["unit_text"] == params.privacy_unit().describe("ip")
    # one event is R1 and one IRIS, each moved by up to 3: two counts, L2 norm 3 sqrt(2)
    assert terms["sensitivity"] == pytest.approx(EVENT_L2)
    assert (terms["shift"], terms["coordinates"]) == (3, 2)
    assert terms["clip_at_zero"] is False
    assert written["scale"] == pytest.approx(discrete_gaussian_sigma(EPSILON, 1e-7, 3, 2))
    assert written["private"] is True and written["mode"] == "ip" and written["format"] == 3
    assert written["randomness"] == "operating system"  # no owner key in the tests
    assert written["n_counts"] == N_INTERVALS * 6
    [delivery] = written["deliveries"]
    assert delivery["intervals"] == N_INTERVALS
    assert (delivery["first"], delivery["last"]) == (str(series[TIMESTAMP].min()), str(series[TIMESTAMP].max()))
    # the release's epsilon on every unit the ledger tracks: the calibration unit's is epsilon
    eps = written["unit_epsilons"]
    assert set(eps) == {"event", "day", "week", "person"}
    assert eps["event"] == pytest.approx(EPSILON, rel=2e-3)  # sigma is found to 5e-4, rounded up
    assert eps["event"] < eps["day"] < eps["week"] < eps["person"]
    assert eps["day"] == pytest.approx(
        epsilon_of(DiscreteGaussianRelease(written["scale"], 3, 2 * 48), 1e-7), rel=1e-6)


@pytest.mark.real_data
def test_parquet_carries_the_same_metadata(made) -> None:
    paths, meta = made
    kv = pl.read_parquet_metadata(paths.release_series)
    embedded = json.loads(kv[PARQUET_METADATA_KEY])
    assert embedded == meta == read_release_metadata(paths.release_series)
    assert set(embedded) == RELEASE_KEYS


@pytest.mark.real_data
def test_timestamps_and_columns_are_unchanged_and_counts_are_integers(made, series: pl.DataFrame) -> None:
    paths, _ = made
    released = pl.read_parquet(paths.release_series)
    assert released.columns == series.columns == [TIMESTAMP, *ZONES]
    assert released.schema == series.schema  # Int64 zones (integer noise), same time zone
    assert released[TIMESTAMP].equals(series[TIMESTAMP])
    assert not released.select(ZONES).equals(series.select(ZONES))
    assert released.select(pl.sum_horizontal(pl.col(ZONES).is_null()).sum()).item() == 0


@pytest.mark.real_data
def test_the_release_passes_the_released_series_suite(made, series: pl.DataFrame) -> None:
    paths, _ = made
    released = pl.read_parquet(paths.release_series)
    report = validate_released(released, clip_at_zero=False, rounded=True, reference_timestamps=series[TIMESTAMP],
                               zones=ZONES)
    assert report.passed, report.message()
    # not clipped: zero-mean noise leaves some small counts negative only where counts are small;
    # the suite accepts negatives here, and would refuse them for a clipped release
    assert not validate_released(released.with_columns(pl.col("r5") - 10**6), clip_at_zero=True, rounded=True,
                                 reference_timestamps=series[TIMESTAMP], zones=ZONES).passed


@pytest.mark.real_data
def test_noise_per_zone_has_the_calibrated_std(made, series: pl.DataFrame) -> None:
    """3,456 counts per zone: the sample std's relative standard error is 1/sqrt(2n) = 1.2%,
    so 5% is about 4 standard errors. The noise is integer (discrete Gaussian): nothing is
    rounded, and at this sigma its variance is sigma^2 to far better than 1%."""
    paths, meta = made
    released = pl.read_parquet(paths.release_series)
    noise = released.select(ZONES).to_numpy() - series.select(ZONES).to_numpy()
    assert noise.dtype == np.int64
    expected = meta["scale"]
    n = noise.shape[0]
    for i, zone in enumerate(ZONES):
        assert abs(noise[:, i].std() / expected - 1) < 0.05, zone
        assert abs(noise[:, i].mean()) < 4 * expected / math.sqrt(n), zone
    assert abs(noise.std() / expected - 1) < 0.02  # all 20,736 counts: SE 0.5%
    # independent draws: no correlation between zones (|r| < 4/sqrt(n))
    corr = np.corrcoef(noise.astype(float), rowvar=False)
    assert np.max(np.abs(corr - np.eye(6))) < 4 / math.sqrt(n)


# --------------------------------------------------------------------------- charges, reruns, randomness


@pytest.mark.real_data
def test_the_release_is_charged_once_on_every_unit_and_a_rerun_changes_nothing(
    series_file: Path, tmp_path: Path
) -> None:
    paths = _root(tmp_path, series_file)
    params = _params()
    meta = release(paths, params, data_version="test-v1")
    [charge] = open_ledger(params).charges()
    assert charge.key == f"ip-release:{meta['release_id']}" and charge.mode == "ip"
    assert charge.data_version == "test-v1"
    assert set(charge.mechanisms) == {"event", "day", "week", "person"}
    event = charge.mechanisms["event"]
    assert isinstance(event, DiscreteGaussianRelease)
    assert event.sigma == meta["scale"] and (event.shift, event.coordinates) == (3, 2)
    assert event.l2_sensitivity == pytest.approx(EVENT_L2)
    released = pl.read_parquet(paths.release_series)
    # The same parameters on the same series: the continual release has nothing new to noise,
    # so it is the same release (same id, same values) and nothing more is charged.
    again = release(paths, params, data_version="test-v1")
    assert again["release_id"] == meta["release_id"] and again["n_counts"] == meta["n_counts"]
    assert again["scale"] == meta["scale"] and again["deliveries"] == meta["deliveries"]
    assert pl.read_parquet(paths.release_series).equals(released)
    assert len(open_ledger(params).charges()) == 1


@pytest.mark.real_data
def test_without_a_key_every_release_is_new_noise_and_charged_again(series_file: Path, tmp_path: Path) -> None:
    """OS randomness: two releases of one series differ, neither records a seed, and each
    is its own charge (fresh noise composes with the earlier release)."""
    params = _params()
    metas, frames = [], []
    for name in ("a", "b"):
        paths = _root(tmp_path / name, series_file)
        metas.append(release(paths, params))
        frames.append(pl.read_parquet(paths.release_series))
    assert metas[0]["release_id"] != metas[1]["release_id"]
    assert all(m["randomness"] == "operating system" and "seed" not in json.dumps(m) for m in metas)
    assert not frames[0].equals(frames[1])
    assert {c.key for c in open_ledger(params).charges()} == {f"ip-release:{m['release_id']}" for m in metas}


@pytest.mark.real_data
def test_budget_refusal_writes_and_charges_nothing(series_file: Path, tmp_path: Path) -> None:
    paths = _root(tmp_path, series_file)
    params = _params(budget={"event": 0.1})
    with pytest.raises(BudgetExceededError, match="unit 'event'"):
        release(paths, params)
    assert not paths.release_dir.exists()
    assert open_ledger(params).charges() == []


# --------------------------------------------------------------------------- variants


@pytest.mark.real_data
def test_laplace_clipped_release(series_file: Path, series: pl.DataFrame, tmp_path: Path) -> None:
    paths = _root(tmp_path, series_file)
    # epsilon 0.5 per event under the Laplace is 24 per day (L1 composes linearly), above the
    # default day budget: tracked, not limited here
    params = _params(ip={"mechanism": "discrete_laplace", "clip_at_zero": True}, budget={"day": None})
    meta = release(paths, params)
    released = pl.read_parquet(paths.release_series)
    assert all(released.schema[z] == pl.Int64 for z in ZONES)
    assert released.select(pl.min_horizontal(ZONES).min()).item() >= 0
    terms = meta["terms"]
    assert terms["mechanism"] == "discrete_laplace" and terms["delta"] == 0.0 and terms["clip_at_zero"] is True
    assert terms["sensitivity"] == EVENT_L1  # L1 of one event: 2 counts, each moved by up to 3
    assert meta["scale"] == pytest.approx(EVENT_L1 / EPSILON) == discrete_laplace_scale(EPSILON, EVENT_L1)
    assert meta["unit_epsilons"]["event"] == pytest.approx(EPSILON)
    assert meta["unit_epsilons"]["day"] == pytest.approx(48 * EPSILON)  # pure DP: no delta
    assert [c.mechanisms["event"].epsilon for c in open_ledger(params).charges()] == [pytest.approx(EPSILON)]
    assert read_release_metadata(paths.release_series) == meta
    assert released[TIMESTAMP].equals(series[TIMESTAMP])
    assert validate_released(released, clip_at_zero=True, rounded=True, reference_timestamps=series[TIMESTAMP],
                             zones=ZONES).passed


@pytest.mark.real_data
def test_clip_at_zero_is_post_processing_of_the_same_noise(
    series_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the owner's key and one release id, the clipped release is the unclipped one
    floored at 0: clipping changes no draw."""
    monkeypatch.setenv("DPFORECAST_PRIVACY_KEY", "11" * 32)
    monkeypatch.setattr(release_start, "new_release_id", lambda: "0123456789abcdef")
    zero = pl.read_parquet(series_file).with_columns(pl.lit(0, dtype=pl.Int64).alias(z) for z in ZONES).head(480)
    zero.write_parquet(tmp_path / "zero.parquet")
    frames = {}
    for clip in (False, True):
        paths = _root(tmp_path / str(clip), tmp_path / "zero.parquet")
        meta = release(paths, _params(ip={"clip_at_zero": clip}))
        assert meta["randomness"] == "owner key"
        frames[clip] = pl.read_parquet(paths.release_series).select(ZONES).to_numpy()
    assert (frames[False] < 0).mean() > 0.3  # zero counts plus symmetric noise: many negatives
    assert frames[True].min() == 0
    np.testing.assert_array_equal(frames[True], np.maximum(frames[False], 0))


@pytest.mark.real_data
def test_missing_counts_stay_missing(series_file: Path, series: pl.DataFrame, tmp_path: Path) -> None:
    """A gap the spec allows (a null count) is released as null: no noise is published
    where nothing was counted, and every other count is noised."""
    holes = series.with_columns(
        pl.when(pl.int_range(pl.len()) % 50 == 3).then(None).otherwise(pl.col("r3")).alias("r3"),
        pl.when(pl.int_range(pl.len()) == 10).then(None).otherwise(pl.col("r5")).alias("r5"),
    )
    holes.write_parquet(tmp_path / "holes.parquet")
    paths = _root(tmp_path / "project", tmp_path / "holes.parquet")
    release(paths, _params())
    released = pl.read_parquet(paths.release_series)
    for zone in ZONES:
        assert released[zone].is_null().equals(holes[zone].is_null()), zone
    assert released["r3"].null_count() == holes["r3"].null_count() > 60 and released["r5"].null_count() == 1
    assert released.schema == holes.schema
    nullable = frozenset({"r3", "r5"})
    assert validate_released(released, False, True, holes[TIMESTAMP], zones=ZONES, nullable=nullable).passed


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(("name", "change"), [
    ("privacy.epsilon", lambda p: replace(p, epsilon=0.0)),
    ("privacy.epsilon", lambda p: replace(p, epsilon=math.inf)),
    ("privacy.delta", lambda p: replace(p, delta=0.0)),
    ("privacy.ip.mechanism", lambda p: replace(p, ip=replace(p.ip, mechanism="analytic_gaussian"))),
    ("privacy.budget.event", lambda p: replace(p, budget=replace(p.budget, event=-1.0))),
])
def test_bad_parameters_are_refused_by_name_before_the_data_is_read(tmp_path: Path, name, change) -> None:
    params = _params()
    params = replace(params, privacy=change(params.privacy))
    paths = _root(tmp_path, None)  # no series at all: reading it would fail differently
    with pytest.raises(PrivacyConfigError) as info:
        release(paths, params)
    assert str(info.value).startswith(f"{name}:")
    assert list(tmp_path.iterdir()) == []
    assert open_ledger(_params()).charges() == []


@pytest.mark.parametrize(("ip", "name"), [
    ({"seed": 0}, "privacy.ip.seed"),
    ({"seed": None}, "privacy.ip.seed"),
    ({"round": True}, "privacy.ip.round"),
])
def test_removed_parameters_are_refused_when_read(ip, name) -> None:
    with pytest.raises(ConfigError, match=rf"^{name.replace('.', r'[.]')}:"):
        _params(ip=ip)


@pytest.mark.real_data
def test_failed_release_validation_writes_nothing(
    series_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug that makes a release invalid (NaN in zone r3, floats) is caught by the suite;
    neither a new release nor an existing one is written."""
    existing = _root(tmp_path / "old", series_file)
    release(existing, _params())
    before = _files(existing.release_dir)
    real = release_stage.extend

    def broken(*args, **kwargs):
        out, info = real(*args, **kwargs)
        out = out.with_columns(pl.col("r3").cast(pl.Float64))
        out = out.with_columns(pl.when(pl.int_range(pl.len()) % 100 == 0).then(float("nan"))
                               .otherwise(pl.col("r3")).alias("r3"))
        return out, info

    monkeypatch.setattr(release_stage, "extend", broken)
    new = _root(tmp_path / "new", series_file)
    for paths in (new, existing):
        with pytest.raises(DataValidationError) as info:
            release(paths, _params())
        failed = {(f.expectation, f.column) for f in info.value.report.failures}
        assert ("expect_column_values_to_be_null", "_non_finite") in failed
        assert ("expect_column_values_to_be_in_type_list", "r3") in failed
        assert "r3" in str(info.value)
    assert not new.release_dir.exists()
    assert _files(existing.release_dir) == before


@pytest.mark.real_data
def test_mode_none_writes_the_note_and_leaves_an_ip_release_untouched(series_file: Path, tmp_path: Path) -> None:
    none = load_params(PARAMS_YAML, privacy={"mode": "none"})
    fresh = _root(tmp_path / "fresh", series_file)
    meta = release(fresh, none)
    assert meta == NO_RELEASE and json.loads(fresh.release_metadata.read_text()) == NO_RELEASE
    assert not fresh.release_series.exists()
    gp = load_params(PARAMS_YAML, privacy={"mode": "gp"}, features={"scaling": "log"})
    assert release(fresh, gp) == {**NO_RELEASE, "mode": "gp"}

    paths = _root(tmp_path / "ip", series_file)
    ip_meta = release(paths, _params())
    before = _files(paths.release_dir)
    assert release(paths, none) == ip_meta  # switching back to ip continues it
    assert _files(paths.release_dir) == before
    assert len(open_ledger(none).charges()) == 1  # the ip release's charge only


def test_the_stage_names_the_mechanism_that_makes_a_run_private_or_says_it_is_not() -> None:
    gp = release_line({**NO_RELEASE, "mode": "gp"}, "gp")
    assert gp.startswith("release: none - this run is private by DP-SGD, the models are noised in training")
    assert "private: False" not in gp and "kept" not in gp
    assert release_line({**NO_RELEASE, "mode": "none"}, "none") == (
        "release: none - this run is not private: the models read the validated counts")
    earlier = {"private": True, "mode": "ip", "terms": {"mechanism": "discrete_gaussian", "epsilon": 1.0, "delta": 1e-7,
                                                          "unit_text": "one event"}}
    assert release_line(earlier, "gp").endswith("(an earlier input-perturbation release is kept, unused)")
    assert release_line(earlier, "ip") == ("release: discrete_gaussian noise added once to every count, epsilon 1 per "
                                           "one event (delta 1e-07): the models train on this noisy release")

