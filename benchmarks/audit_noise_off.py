"""The privacy audit of the default DP-SGD configuration with the noise forced OFF (the test
seam ``tests/audit_seams.py``: a secret stream whose normals are zero): what the audit shows
for a "private" run that adds no noise. Writes nothing to metrics/, reports/, MLflow or the
ledger; prints the result as JSON.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/audit_noise_off.py [--claims 1 4 8] [--canaries 200000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from dpforecast.experiments.audit import (  # noqa: E402
    DEFAULT_CANARIES,
    DEFAULT_CLAIMS,
    run_audit,
    summary,
)

from audit_seams import NoiselessStream  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--model", default="bigru")
parser.add_argument("--claims", type=float, nargs="+", default=list(DEFAULT_CLAIMS))
parser.add_argument("--canaries", type=int, default=DEFAULT_CANARIES)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
result = run_audit(ROOT, args.model, tuple(args.claims), args.canaries, args.seed, streams=NoiselessStream)
print(json.dumps(result.to_json(), indent=2))
print(summary(result))
