"""Build throw-away project roots for tests: the real data, params.yaml with overrides."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from dpforecast.config import deep_merge

REPO = Path(__file__).resolve().parents[1]

# Small enough that four models train in seconds.
TINY = {"train": {"epochs": 2, "patience": 0}, "architectures": {a: {"units": 8} for a in ("lstm", "gru", "bilstm", "bigru")}}


def make_root(tmp: Path, overrides: dict[str, Any] | None = None, raw_csv: Path | None = None,
              datasets: tuple[str, ...] | None = None) -> Path:
    """A project root under ``tmp`` with ``data/montreuil``, ``datasets/`` (all, or the
    named ones), ``profiles/`` and ``params.yaml``."""
    root = tmp
    root.mkdir(parents=True, exist_ok=True)
    data = root / "data" / "montreuil"
    data.mkdir(parents=True, exist_ok=True)
    src = raw_csv or REPO / "data" / "montreuil" / "ML_final_df_real.csv"
    shutil.copyfile(src, data / "ML_final_df_real.csv")
    shutil.copyfile(REPO / "data.dvc", root / "data.dvc")
    shutil.copytree(REPO / "profiles", root / "profiles", dirs_exist_ok=True)
    shutil.copytree(REPO / "datasets", root / "datasets", dirs_exist_ok=True,
                    ignore=None if datasets is None else lambda _, names: [n for n in names if n.removesuffix(".yaml") not in datasets])
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    (root / "params.yaml").write_text(yaml.safe_dump(deep_merge(params, overrides or {}), sort_keys=False))
    return root
