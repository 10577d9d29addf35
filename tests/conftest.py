"""Shared test fixtures: the repository's parameters and the real raw CSV (as text)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PARAMS_YAML = REPO_ROOT / "params.yaml"
_RAW_IN_REPO = REPO_ROOT / "data" / "montreuil" / "ML_final_df_real.csv"
_RAW_SHARED = Path("/work/shared/data/montreuil/ML_final_df_real.csv")


def raw_csv_file() -> Path:
    """The repository's copy of the data set if present, else the shared one."""
    return _RAW_IN_REPO if _RAW_IN_REPO.is_file() else _RAW_SHARED


@pytest.fixture(autouse=True)
def _private_state(monkeypatch, tmp_path_factory) -> None:
    """Each test spends from its own ledger and has no owner key: the developer's ledger
    (``~/.local/share/dpforecast``) and key are never touched, and no test sees another's spend."""
    monkeypatch.setenv("DPFORECAST_HOME", str(tmp_path_factory.mktemp("dpforecast-home")))
    for name in ("DPFORECAST_LEDGER", "DPFORECAST_PRIVACY_KEY", "DPFORECAST_PRIVACY_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def raw_csv_path() -> Path:
    path = raw_csv_file()
    if not path.is_file():
        pytest.skip(f"raw data set not found at {_RAW_IN_REPO} or {_RAW_SHARED}")
    return path


@pytest.fixture(scope="session")
def raw_csv_text(raw_csv_path: Path) -> str:
    """The real CSV exactly as written (CRLF line endings kept)."""
    return raw_csv_path.read_bytes().decode("utf-8")


def write_variant(directory: Path, text: str, name: str = "variant.csv") -> Path:
    """Write ``text`` byte for byte (no newline translation) under ``directory``."""
    path = directory / name
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.fixture
def write_csv(tmp_path: Path):
    """``write_csv(text, name="variant.csv") -> Path`` writing into this test's tmp_path."""

    def _write(text: str, name: str = "variant.csv") -> Path:
        return write_variant(tmp_path, text, name)

    return _write
