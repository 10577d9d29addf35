"""Secret randomness: keyed determinism, fresh OS bytes without a key, the key file rules,
the public-seed seam, and the statistics of the bulk draws."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from dpforecast.privacy import randomness
from dpforecast.privacy.randomness import (
    BLOCK_BYTES,
    KEY_ENV,
    KEY_FILE_ENV,
    PrivacyKey,
    PrivacyKeyError,
    SecretStream,
    create_key_file,
    default_key_file,
    load_key,
)

KEY = PrivacyKey(bytes(range(32)), "test")
OTHER_KEY = PrivacyKey(bytes(range(1, 33)), "test")
CONTEXT = {"stage": "perturb", "epsilon": 1.0, "unit": "zone-interval", "seed": 0, "partition": "train"}
SRC = Path(__file__).resolve().parents[3] / "src"


def _stream(key: PrivacyKey | None = KEY, **changes: object) -> SecretStream:
    return SecretStream.for_context(key, {**CONTEXT, **changes})


# --- keyed streams -------------------------------------------------------------------


def test_same_key_and_context_give_the_same_stream() -> None:
    a, b = _stream(), _stream()
    assert a.keyed and b.keyed
    assert a.bytes(100) == b.bytes(100)
    np.testing.assert_array_equal(a.uniform(1000), b.uniform(1000))
    np.testing.assert_array_equal(a.normal(1001), b.normal(1001))
    assert [a.randbelow(389) for _ in range(50)] == [b.randbelow(389) for _ in range(50)]


def test_context_order_does_not_matter_but_every_value_does() -> None:
    reordered = SecretStream.for_context(KEY, dict(reversed(list(CONTEXT.items()))))
    reference = _stream().bytes(64)
    assert reordered.bytes(64) == reference
    for change in ({"epsilon": 2.0}, {"unit": "person-day"}, {"seed": 1}, {"partition": "test"}, {"extra": None}):
        assert _stream(**change).bytes(64) != reference, change
    assert _stream(OTHER_KEY).bytes(64) != reference


def test_keyed_stream_is_shake256_counter_mode_over_hmac_of_canonical_context() -> None:
    message = json.dumps(CONTEXT, sort_keys=True, separators=(",", ":")).encode()
    seed = hmac.new(KEY.material, message, hashlib.sha256).digest()
    expected = hashlib.shake_256(seed + (0).to_bytes(8, "big")).digest(BLOCK_BYTES)
    expected += hashlib.shake_256(seed + (1).to_bytes(8, "big")).digest(16)
    assert _stream().bytes(BLOCK_BYTES + 16) == expected


def test_reads_across_block_boundaries_continue_the_same_stream() -> None:
    whole = _stream().bytes(2 * BLOCK_BYTES + 5)
    pieces = _stream()
    parts = [pieces.bytes(n) for n in (7, BLOCK_BYTES - 10, 6, BLOCK_BYTES, 2)]
    assert b"".join(parts) == whole


# --- unkeyed streams and the public-seed seam ----------------------------------------


def test_without_a_key_each_stream_is_fresh() -> None:
    a, b = _stream(None), _stream(None)
    assert not a.keyed
    assert a.bytes(32) != b.bytes(32)
    assert a.bytes(32) != a.bytes(32)
    u = a.uniform(10_000)
    assert u.dtype == np.float64 and 0.45 < u.mean() < 0.55


def test_public_seed_seam_reproduces_public_seeding(monkeypatch: pytest.MonkeyPatch) -> None:
    assert randomness._public_seed is None
    assert _stream(None).bytes(32) != _stream(None).bytes(32)
    monkeypatch.setattr(randomness, "_public_seed", 1234)
    public = _stream(None).bytes(32)
    assert _stream(None).bytes(32) == public
    assert _stream(KEY).bytes(32) == public  # the key is ignored: anyone knowing 1234 regenerates it
    assert _stream(None).keyed
    monkeypatch.setattr(randomness, "_public_seed", 1235)
    assert _stream(None).bytes(32) != public


def test_nothing_in_src_sets_the_public_seed_seam() -> None:
    mentions = [
        path.relative_to(SRC)
        for path in SRC.rglob("*.py")
        if "_public_seed" in path.read_text(encoding="utf-8") and path.name != "randomness.py"
    ]
    assert mentions == []
    own = (SRC / "dpforecast" / "privacy" / "randomness.py").read_text(encoding="utf-8")
    assignments = [line for line in own.splitlines() if line.lstrip().startswith("_public_seed")]
    assert assignments == ["_public_seed: int | None = None"]


# --- keys ----------------------------------------------------------------------------


def test_key_repr_never_shows_the_material() -> None:
    text = repr(PrivacyKey(b"\xab" * 32, "/secret/path"))
    assert "ab" not in text.replace("/secret/path", "") and "\\xab" not in text
    assert "/secret/path" in text and "32" in text
    assert str(KEY) == repr(KEY)


def _write_key(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="ascii")
    path.chmod(mode)
    return path


def test_key_from_environment_variable() -> None:
    key = load_key({KEY_ENV: "ab" * 32, KEY_FILE_ENV: "/does/not/exist"})
    assert key is not None and key.material == b"\xab" * 32 and key.source == KEY_ENV


@pytest.mark.parametrize("value, problem", [("ab" * 31, "has 31 bytes"), ("zz" * 32, "not hexadecimal"), ("", "has 0 bytes")])
def test_bad_environment_key_is_refused_naming_the_variable(value: str, problem: str) -> None:
    with pytest.raises(PrivacyKeyError, match=problem) as error:
        load_key({KEY_ENV: value})
    assert KEY_ENV in str(error.value) and "\n" not in str(error.value)


def test_private_key_file_is_accepted_with_whitespace_stripped(tmp_path: Path) -> None:
    path = _write_key(tmp_path / "k", " " + "0f" * 20 + "\n" + "0f" * 12 + "\n")
    key = load_key({KEY_FILE_ENV: str(path)})
    assert key is not None and key.material == b"\x0f" * 32 and key.source == str(path)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_key_file_open_to_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = _write_key(tmp_path / "k", "ab" * 32, mode)
    with pytest.raises(PrivacyKeyError, match=f"chmod 600 {path}"):
        load_key({KEY_FILE_ENV: str(path)})


@pytest.mark.parametrize("text, problem", [("ab" * 16, "has 16 bytes"), ("xy" * 32, "not hexadecimal")])
def test_bad_key_file_is_refused_naming_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = _write_key(tmp_path / "k", text)
    with pytest.raises(PrivacyKeyError, match=problem) as error:
        load_key({KEY_FILE_ENV: str(path)})
    assert str(path) in str(error.value)


def test_missing_or_unreadable_key_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.key"
    with pytest.raises(PrivacyKeyError, match="does not exist") as error:
        load_key({KEY_FILE_ENV: str(missing)})
    assert str(missing) in str(error.value)
    directory = tmp_path / "dir.key"
    directory.mkdir(mode=0o700)
    with pytest.raises(PrivacyKeyError, match="cannot be read"):
        load_key({KEY_FILE_ENV: str(directory)})


def test_default_key_file_is_used_only_if_present(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert default_key_file(env) == tmp_path / ".config" / "dpforecast" / "privacy.key"
    assert load_key(env) is None
    created = create_key_file(default_key_file(env))
    key = load_key(env)
    assert key is not None and key.source == str(created) and len(key.material) == 32
    assert load_key({**env, KEY_ENV: "cd" * 32}).material == b"\xcd" * 32  # the variable wins
    created.chmod(0o644)
    with pytest.raises(PrivacyKeyError, match="chmod 600"):
        load_key(env)


def test_create_key_file_is_private_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "privacy.key"
    assert create_key_file(path) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700
    content = path.read_text()
    assert len(content.strip()) == 64 and bytes.fromhex(content)
    with pytest.raises(PrivacyKeyError, match="refusing to overwrite"):
        create_key_file(path)
    assert path.read_text() == content
    assert create_key_file(tmp_path / "second.key").read_text() != content


# --- draws ---------------------------------------------------------------------------


def test_uniform_has_53_bit_values_in_unit_interval_and_right_moments() -> None:
    u = _stream().uniform(1_000_000)
    assert u.dtype == np.float64 and u.min() >= 0.0 and u.max() < 1.0
    assert np.all(u * 2.0**53 == np.floor(u * 2.0**53))
    assert np.any((u * 2.0**53) % 2 == 1)  # the lowest of the 53 bits is used
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / u.size)
    assert abs(u.var() - 1 / 12) < 0.001
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert _stream().uniform((3, 4)).shape == (3, 4)


def test_normal_moments_and_distribution() -> None:
    z = _stream().normal(1_000_001)
    assert z.shape == (1_000_001,) and z.dtype == np.float64 and np.all(np.isfinite(z))
    assert abs(z.mean()) < 5 / np.sqrt(z.size)
    assert abs(z.var() - 1) < 0.01
    assert abs(stats.skew(z)) < 0.01 and abs(stats.kurtosis(z)) < 0.02
    assert stats.kstest(z, "norm").pvalue > 1e-3
    half = 1 << 15  # the two outputs of one Box-Muller pair are uncorrelated
    assert abs(np.corrcoef(z[:half], z[half : 2 * half])[0, 1]) < 5 / np.sqrt(half)
    assert _stream().normal((5, 3)).shape == (5, 3)


def test_bernoulli_frequency() -> None:
    b = _stream().bernoulli(0.3, 200_000)
    assert b.dtype == np.bool_ and abs(b.mean() - 0.3) < 5 * np.sqrt(0.21 / b.size)


def test_randbelow_and_randbits_are_exact_and_uniform() -> None:
    s = _stream()
    draws = np.array([s.randbelow(10) for _ in range(50_000)])
    assert draws.min() == 0 and draws.max() == 9
    assert stats.chisquare(np.bincount(draws, minlength=10)).pvalue > 1e-3
    assert s.randbelow(1) == 0
    bits = [s.randbits(13) for _ in range(2000)]
    assert max(bits) < 2**13 and max(bits) >= 2**12
    big = 2**200 + 3
    assert all(0 <= s.randbelow(big) < big for _ in range(100))
    with pytest.raises(ValueError):
        s.randbelow(0)
