#!/bin/sh
# The project's Python for the DVC stages (dvc.yaml: `sh pipelines/python.sh pipelines/<stage>.py`),
# whatever PATH the shell that ran `dvc` has: `.venv/bin/dvc repro` works without the venv on PATH.
#   - the workspace's .venv (a fresh clone after `bash scripts/setup-env.sh`, CI);
#   - in the temporary copy `dvc exp run --temp` and queued experiments run in (no .venv there),
#     that of the workspace it came from: DVC sets DVC_ROOT to it;
#   - else python3 on PATH (an activated environment, a copy of the tree without .venv).
# The copy's own src/ comes first on the path, so a stage runs the code DVC hashed as its
# dependencies, not the tree the venv's editable install points at.
for python in .venv/bin/python "${DVC_ROOT:-.}/.venv/bin/python"; do
  if [ -x "$python" ]; then
    PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" exec "$python" "$@"
  fi
done
PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" exec python3 "$@"
