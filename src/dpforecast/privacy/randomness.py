"""Secret randomness for every draw that protects people.

Why
---
Differential privacy holds only if the adversary cannot predict the noise. A generator
seeded from a public seed (``numpy.random.default_rng(seed)``, ``torch.manual_seed``)
lets anyone who reads the seed regenerate the noise and subtract it; and numpy's and
torch's generators are not cryptographic, so even an unknown seed may be recovered from
enough outputs. Here every private draw comes from a :class:`SecretStream`:

* with the data owner's :class:`PrivacyKey` the stream is SHAKE-256 in counter mode,
  seeded by HMAC-SHA256(key, context): cryptographically secure, and reproducible by the
  owner (and nobody else) to rerun or audit a release;
* without a key the bytes come from ``os.urandom``: fresh on every run, so each run is a
  new release and must be charged to the privacy budget every time.

The context must name everything that distinguishes two runs (stage, epsilon, delta,
privacy unit, seed, partition, ...): two runs whose contexts are equal share their
noise, and two releases that share noise are not independent releases.

The key is read from ``DPFORECAST_PRIVACY_KEY`` (hex), else the file named by
``DPFORECAST_PRIVACY_KEY_FILE``, else ``~/.config/dpforecast/privacy.key`` if present;
a key file must be private to its owner (``chmod 600``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

KEY_ENV = "DPFORECAST_PRIVACY_KEY"
KEY_FILE_ENV = "DPFORECAST_PRIVACY_KEY_FILE"
MIN_KEY_BYTES = 32
BLOCK_BYTES = 1 << 20
_NORMAL_CHUNK = 1 << 16  # normals per Box-Muller batch: keeps the temporaries in cache

_public_seed: int | None = None
"""Test-only seam: when a test sets it to an integer, :meth:`SecretStream.for_context`
derives its seed from this public integer and the context, reproducing the old, broken
public seeding. It exists only so tests can show that the attack tests can fail; nothing
in ``src`` may set it."""

Size = int | tuple[int, ...]


class PrivacyKeyError(ValueError):
    """A privacy key that is missing, malformed, too short or not private."""


@dataclass(frozen=True, repr=False)
class PrivacyKey:
    """The data owner's secret key; ``source`` says where it was read from."""

    material: bytes
    source: str

    def __repr__(self) -> str:
        return f"PrivacyKey(source={self.source!r}, material=<{len(self.material)} secret bytes>)"


def _parse_hex(text: str, where: str) -> bytes:
    try:
        material = bytes.fromhex("".join(text.split()))
    except ValueError:
        raise PrivacyKeyError(f"{where}: the privacy key is not hexadecimal text") from None
    if len(material) < MIN_KEY_BYTES:
        raise PrivacyKeyError(
            f"{where}: the privacy key has {len(material)} bytes, at least {MIN_KEY_BYTES} "
            f"({2 * MIN_KEY_BYTES} hex digits) are needed"
        )
    return material


def _read_key_file(path: Path) -> PrivacyKey:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise PrivacyKeyError(f"{path}: privacy key file does not exist") from None
    if stat.S_IMODE(mode) & 0o077:
        raise PrivacyKeyError(
            f"{path}: privacy key file is accessible by group or others "
            f"(mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
        )
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise PrivacyKeyError(f"{path}: privacy key file cannot be read ({error})") from None
    return PrivacyKey(_parse_hex(text, str(path)), str(path))


def default_key_file(env: Mapping[str, str] | None = None) -> Path:
    """``~/.config/dpforecast/privacy.key``, with ``~`` taken from ``env['HOME']`` if set."""
    home = (os.environ if env is None else env).get("HOME")
    return (Path(home) if home else Path.home()) / ".config" / "dpforecast" / "privacy.key"


def load_key(env: Mapping[str, str] | None = None) -> PrivacyKey | None:
    """The owner's key from the environment or key file; None if no key is configured."""
    env = os.environ if env is None else env
    if KEY_ENV in env:
        return PrivacyKey(_parse_hex(env[KEY_ENV], f"environment variable {KEY_ENV}"), KEY_ENV)
    if KEY_FILE_ENV in env:
        return _read_key_file(Path(env[KEY_FILE_ENV]).expanduser())
    default = default_key_file(env)
    return _read_key_file(default) if default.exists() else None


def create_key_file(path: Path) -> Path:
    """Write a new random 32-byte key (hex) to ``path``, mode 0600; never overwrites."""
    path = Path(path).expanduser()
    for parent in reversed(path.parents):
        if not parent.exists():
            parent.mkdir(mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise PrivacyKeyError(f"{path}: a file already exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_bytes(MIN_KEY_BYTES).hex() + "\n")
    return path


def _count(size: Size) -> int:
    return math.prod(size) if isinstance(size, tuple) else int(size)


class SecretStream:
    """A cryptographically secure byte stream, with exact integer and bulk float draws.

    ``keyed`` is True when the stream is deterministic (seeded from a key, or from the
    test seam); exact samplers need it to be reproducible.
    """

    def __init__(self, seed: bytes | None) -> None:
        """``seed=None`` reads ``os.urandom``; a seed gives SHAKE-256(seed || counter)."""
        self._seed = seed
        self.keyed: bool = seed is not None
        self._counter = 0
        self._block = b""
        self._pos = 0

    @classmethod
    def for_context(cls, key: PrivacyKey | None, context: Mapping[str, object]) -> SecretStream:
        """The stream of this run: keyed by (key, context), else fresh OS randomness."""
        message = json.dumps(dict(context), sort_keys=True, separators=(",", ":"), default=str).encode()
        if _public_seed is not None:
            return cls(hmac.digest(str(_public_seed).encode(), message, "sha256"))
        if key is None:
            return cls(None)
        return cls(hmac.digest(key.material, message, "sha256"))

    def bytes(self, n: int) -> bytes:
        """The next ``n`` bytes of the stream."""
        if self._seed is None:
            return os.urandom(n)
        end = self._pos + n
        if end <= len(self._block):
            out = self._block[self._pos : end]
            self._pos = end
            return out
        parts = [self._block[self._pos :]]
        need = n - len(parts[0])
        while need > 0:
            self._block = hashlib.shake_256(self._seed + self._counter.to_bytes(8, "big")).digest(BLOCK_BYTES)
            self._counter += 1
            self._pos = min(need, BLOCK_BYTES)
            parts.append(self._block[: self._pos])
            need -= self._pos
        return b"".join(parts)

    def randbits(self, k: int) -> int:
        """A uniform integer in ``[0, 2**k)``."""
        if k <= 0:
            return 0
        nbytes = (k + 7) // 8
        return int.from_bytes(self.bytes(nbytes), "big") >> (8 * nbytes - k)

    def randbelow(self, n: int) -> int:
        """A uniform integer in ``[0, n)``, exactly (rejection sampling)."""
        if n <= 0:
            raise ValueError(f"randbelow needs n > 0, got {n}")
        k = (n - 1).bit_length()
        while True:
            r = self.randbits(k)
            if r < n:
                return r

    def uniform(self, size: Size) -> np.ndarray:
        """Float64 uniforms in [0, 1), each from 53 random bits."""
        n = _count(size)
        words = np.frombuffer(self.bytes(8 * n), dtype="<u8")
        return ((words >> np.uint64(11)) * 2.0**-53).reshape(size)

    def normal(self, size: Size) -> np.ndarray:
        """Standard normals (Box-Muller, both outputs of each pair used), in cache-sized chunks."""
        n = _count(size)
        out = np.empty(n)
        for start in range(0, n, _NORMAL_CHUNK):
            half = (min(_NORMAL_CHUNK, n - start) + 1) // 2
            u = self.uniform(2 * half)
            radius = np.sqrt(-2.0 * np.log1p(-u[:half]))  # log(1 - u) with 1 - u in (0, 1]: never log(0)
            angle = (2.0 * np.pi) * u[half:]
            stop = min(start + 2 * half, n)
            out[start : start + half] = radius * np.cos(angle)
            out[start + half : stop] = (radius * np.sin(angle))[: stop - start - half]
        return out.reshape(size)

    def bernoulli(self, p: float | np.ndarray, size: Size) -> np.ndarray:
        """Booleans, True with probability ``p``."""
        return self.uniform(size) < p
