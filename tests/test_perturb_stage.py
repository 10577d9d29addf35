"""The ``perturb`` stage on the real series, and the released-series suite.

The validated series is built from the real CSV once per module; the default release
(analytic Gaussian, epsilon 0.5, rounded, not clipped) is made once and inspected by
several tests (GX costs seconds per import).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dpforecast.config import load_params
from dpforecast.data.ingest import drop_total, read_raw, to_series
from dpforecast.data.schema import TIMESTAMP
from montreuil_spec import SPEC, ZONES
from dpforecast.privacy import mechanisms
from dpforecast.privacy.mechanisms import analytic_gaussian_sigma
from dpforecast.stages.perturb import PARQUET_METADATA_KEY, perturb, read_release_metadata
from dpforecast.validation import DataValidationError
from dpforecast.validation.released import validate_released

PARAMS_YAML = Path(__file__).resolve().parents[1] / "params.yaml"
EPSILON = 0.5
RELEASE_KEYS = {"mechanism", "epsilon", "delta", "sensitivity", "unit", "seed", "sigma", "round", "clip_at_zero"}


def _params(**privacy):
    return load_params(PARAMS_YAML, privacy={"mode": "ip", "epsilon": EPSILON, **privacy})


@pytest.fixture(scope="module")
def series_file(tmp_path_factory: pytest.TempPathFactory, raw_csv_path: Path) -> Path:
    params = load_params(PARAMS_YAML)
    path = tmp_path_factory.mktemp("validated") / "series.parquet"
    drop_total(to_series(read_raw(raw_csv_path), SPEC)).write_parquet(path)
    return path


@pytest.fixture(scope="module")
def series(series_file: Path) -> pl.DataFrame:
    return pl.read_parquet(series_file)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory, series_file: Path):
    out = tmp_path_factory.mktemp("release")
    meta = perturb(series_file, out / "series.parquet", out / "release.json", _params(), data_version="test-v1")
    return out, meta


def test_metadata_json_describes_the_release(release, series_file: Path) -> None:
    out, meta = release
    params = _params()
    written = json.loads((out / "release.json").read_text())
    assert written == meta
    assert RELEASE_KEYS <= set(written)
    assert written["mechanism"] == "analytic_gaussian"
    assert written["epsilon"] == EPSILON
    assert written["delta"] == 1e-7
    # one event is R1 and one IRIS: two counts change by one, L2 norm sqrt(2)
    assert written["sensitivity"] == pytest.approx(2 ** 0.5)
    assert written["unit"] == params.ip_unit() and written["privacy_unit"]["counts"] == 2
    assert written["seed"] == params.privacy.ip.seed
    assert written["round"] is True and written["clip_at_zero"] is False
    assert written["sigma"] == pytest.approx(analytic_gaussian_sigma(EPSILON, 1e-7, 2 ** 0.5))
    assert written["input_md5"] == hashlib.md5(series_file.read_bytes()).hexdigest()
    assert written["data_version"] == "test-v1"
    assert written["n_counts"] == 3456 * 6


def test_parquet_carries_the_same_metadata(release) -> None:
    out, meta = release
    kv = pl.read_parquet_metadata(out / "series.parquet")
    embedded = json.loads(kv[PARQUET_METADATA_KEY])
    assert embedded == meta == read_release_metadata(out / "series.parquet")
    assert RELEASE_KEYS <= set(embedded)


def test_timestamps_and_columns_are_unchanged(release, series: pl.DataFrame) -> None:
    out, _ = release
    released = pl.read_parquet(out / "series.parquet")
    assert released.columns == series.columns == [TIMESTAMP, *ZONES]
    assert released.schema == series.schema  # Int64 zones (rounded), same time zone
    assert released[TIMESTAMP].equals(series[TIMESTAMP])
    assert not released.select(ZONES).equals(series.select(ZONES))


def test_noise_per_zone_has_the_calibrated_std(release, series: pl.DataFrame) -> None:
    """3,456 counts per zone: the sample std's relative standard error is 1/sqrt(2n) = 1.2%,
    so 5% is about 4 standard errors. Rounding adds a uniform error of variance 1/12."""
    out, meta = release
    released = pl.read_parquet(out / "series.parquet")
    noise = released.select(ZONES).to_numpy().astype(float) - series.select(ZONES).to_numpy()
    expected = math.sqrt(meta["sigma"] ** 2 + 1 / 12)
    n = noise.shape[0]
    for i, zone in enumerate(ZONES):
        assert abs(noise[:, i].std() / expected - 1) < 0.05, zone
        assert abs(noise[:, i].mean()) < 4 * expected / math.sqrt(n), zone
    assert abs(noise.std() / expected - 1) < 0.02  # all 20,736 counts: SE 0.5%


def test_same_parameters_give_the_same_release(release, series_file: Path, tmp_path: Path) -> None:
    out, meta = release
    again = perturb(series_file, tmp_path / "s.parquet", tmp_path / "m.json", _params(), data_version="test-v1")
    assert again == meta
    assert pl.read_parquet(tmp_path / "s.parquet").equals(pl.read_parquet(out / "series.parquet"))


def test_os_random_seed_is_unrecorded_and_never_repeats(series_file: Path, tmp_path: Path) -> None:
    """``seed: null`` draws from OS entropy: two releases differ, neither records a seed,
    and each gets its own ledger key (charged again, since fresh noise composes)."""
    from dpforecast.stages.release import release_key

    params = _params(ip={"seed": None})
    a = perturb(series_file, tmp_path / "a.parquet", tmp_path / "a.json", params)
    b = perturb(series_file, tmp_path / "b.parquet", tmp_path / "b.json", params)
    assert a["seed"] is None and b["seed"] is None
    assert json.loads((tmp_path / "a.json").read_text())["seed"] is None
    assert not pl.read_parquet(tmp_path / "a.parquet").equals(pl.read_parquet(tmp_path / "b.parquet"))
    assert release_key("md5", params) != release_key("md5", params)
    assert release_key("md5", _params()) == release_key("md5", _params())


def test_laplace_unrounded_clipped_release(series_file: Path, series: pl.DataFrame, tmp_path: Path) -> None:
    params = _params(ip={"mechanism": "laplace", "round": False, "clip_at_zero": True, "seed": 11})
    meta = perturb(series_file, tmp_path / "s.parquet", tmp_path / "m.json", params)
    released = pl.read_parquet(tmp_path / "s.parquet")
    assert all(released.schema[z] == pl.Float64 for z in ZONES)
    assert released.select(pl.min_horizontal(ZONES).min()).item() >= 0
    assert meta["mechanism"] == "laplace" and meta["delta"] == 0.0
    assert meta["scale"] == pytest.approx(2 / EPSILON) and meta["sigma"] is None  # L1 of one event: 2 counts
    assert meta["seed"] == 11 and read_release_metadata(tmp_path / "s.parquet")["seed"] == 11
    assert released[TIMESTAMP].equals(series[TIMESTAMP])


@pytest.mark.parametrize("mode", ["none", "gp"])
def test_other_privacy_modes_are_refused(series_file: Path, tmp_path: Path, mode: str) -> None:
    params = load_params(PARAMS_YAML, privacy={"mode": mode, "epsilon": EPSILON})
    with pytest.raises(ValueError, match=r"privacy\.mode"):
        perturb(series_file, tmp_path / "s.parquet", tmp_path / "m.json", params)
    assert list(tmp_path.iterdir()) == []


def test_classic_gaussian_refuses_epsilon_of_one(series_file: Path, tmp_path: Path) -> None:
    params = load_params(PARAMS_YAML, privacy={"mode": "ip", "epsilon": 1.0, "ip": {"mechanism": "gaussian"}})
    with pytest.raises(ValueError, match=r"privacy\.epsilon"):
        perturb(series_file, tmp_path / "s.parquet", tmp_path / "m.json", params)
    assert list(tmp_path.iterdir()) == []


def test_failed_release_validation_writes_nothing(
    series_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = mechanisms.perturb_counts

    def broken(counts, *args, **kwargs):
        noisy, meta = real(counts, *args, **kwargs)
        noisy = noisy.astype(float)
        noisy[::100, 2] = np.nan  # a bug in a mechanism: NaN in zone r3
        return noisy, meta

    monkeypatch.setattr(mechanisms, "perturb_counts", broken)
    existing = tmp_path / "old"
    existing.mkdir()
    (existing / "s.parquet").write_bytes(b"previous release")
    for target in (tmp_path / "new", existing):
        with pytest.raises(DataValidationError) as info:
            perturb(series_file, target / "s.parquet", target / "m.json", _params())
        failed = {(f.expectation, f.column) for f in info.value.report.failures}
        assert ("expect_column_values_to_be_null", "_non_finite") in failed
        assert ("expect_column_values_to_be_in_type_list", "r3") in failed
        assert "r3" in str(info.value)
    assert not (tmp_path / "new").exists()
    assert [p.name for p in existing.iterdir()] == ["s.parquet"]
    assert (existing / "s.parquet").read_bytes() == b"previous release"


# --------------------------------------------------------------------------- the suite alone


@pytest.fixture(scope="module")
def small(series: pl.DataFrame) -> pl.DataFrame:
    return series.head(96)


def _failed(report) -> set[tuple[str, str | None]]:
    return {(f.expectation, f.column) for f in report.failures}


def test_suite_accepts_negative_counts_unless_clipping_was_asked(small: pl.DataFrame) -> None:
    noisy = small.with_columns(pl.col("r5") - 100_000)  # legitimately negative noisy counts
    report = validate_released(noisy, clip_at_zero=False, rounded=True, reference_timestamps=small[TIMESTAMP], zones=ZONES)
    assert report.passed, report.message()
    report = validate_released(noisy, clip_at_zero=True, rounded=True, reference_timestamps=small[TIMESTAMP], zones=ZONES)
    assert _failed(report) == {("expect_column_values_to_be_between", "r5")}
    assert report.failures[0].unexpected_count == 96


def test_suite_checks_integers_only_when_rounded(small: pl.DataFrame) -> None:
    floats = small.with_columns(pl.col(z).cast(pl.Float64) + 0.25 for z in ZONES)
    assert validate_released(floats, False, False, small[TIMESTAMP], zones=ZONES).passed
    report = validate_released(floats, False, True, small[TIMESTAMP], zones=ZONES)
    assert _failed(report) == {("expect_column_values_to_be_in_type_list", z) for z in ZONES}


def test_suite_checks_timestamps_against_the_input(small: pl.DataFrame) -> None:
    ref = small[TIMESTAMP]
    shifted = small.with_columns(pl.col(TIMESTAMP).dt.offset_by("30m"))
    assert ("expect_column_pair_values_to_be_equal", TIMESTAMP) in _failed(validate_released(shifted, False, True, ref, zones=ZONES))
    utc = small.with_columns(pl.col(TIMESTAMP).dt.convert_time_zone("UTC"))
    assert ("expect_column_values_to_be_in_set", "_timestamp_dtype") in _failed(validate_released(utc, False, True, ref, zones=ZONES))
    short = small.head(95)
    report = validate_released(short, False, True, ref, zones=ZONES)
    assert _failed(report) == {("expect_table_row_count_to_equal", None)}
    assert "the input has 96" in report.message()
    extra = small.with_columns(pl.lit(1).alias("total"))
    assert ("expect_table_columns_to_match_ordered_list", None) in _failed(validate_released(extra, False, True, ref, zones=ZONES))


def test_suite_rejects_infinite_values(small: pl.DataFrame) -> None:
    inf = small.with_columns(pl.col(z).cast(pl.Float64) for z in ZONES).with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(float("inf")).otherwise(pl.col("r2")).alias("r2")
    )
    report = validate_released(inf, False, False, small[TIMESTAMP], zones=ZONES)
    assert _failed(report) == {("expect_column_values_to_be_null", "_non_finite")}
    assert report.failures[0].examples[0]["row"] == 4
