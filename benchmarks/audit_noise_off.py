"""The canary audit of the default DP-SGD configuration with the noise forced OFF (the test
seam ``tests/audit_seams.py``): what the audit shows for a "private" run that adds no noise.
Writes nothing to metrics/, reports/, MLflow or the ledger; prints the result as JSON.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/audit_noise_off.py [--canaries 1000] [--seed 0] [--epsilon 1]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from audit_seams import fit_clipped_without_noise  # noqa: E402

from dpforecast.privacy.audit import run_audit, summary  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--model", default="bigru")
parser.add_argument("--canaries", type=int, default=1000)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--epsilon", type=float)
args = parser.parse_args()
result = run_audit(ROOT, args.model, args.canaries, args.seed, args.epsilon, trainer=fit_clipped_without_noise)
print(json.dumps(result, indent=2))
print(summary(result))
