"""The README's in-memory example runs as printed (on Auckland's counts, charged to a test ledger)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "auckland_in_memory.py"


@pytest.mark.real_data
def test_the_auckland_example_fits_predicts_and_reports(tmp_path):
    if not (ROOT / "data" / "auckland" / "hourly_counts.csv").is_file():
        pytest.skip("Auckland's counts are restored by `dvc pull data.dvc` (scripts/test.sh does it)")
    code = [line for line in EXAMPLE.read_text().splitlines() if line.strip() and not line.startswith(('"""', "#"))]
    assert len(code) <= 15  # the bound: a fit of Auckland in at most 15 lines
    env = {**os.environ, "DPFORECAST_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, str(EXAMPLE)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "shape: (504, 5)" in out and "shape: (1, 4)" in out  # 21 zones x 24 leads; one RMSE per model
    assert "# Privacy of the forecasts of auckland" in out and "ε = 1 (δ = 1e-7, discrete_gaussian) per one event" in out
