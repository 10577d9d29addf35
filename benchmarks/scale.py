"""Time the pipeline's first stages (ingest, validate, windows) at city scale.

Why: a city delivers a year of half-hourly counts for a thousand zones or more; the goals
on the 2-core development machine are 1,000 zones x 1 year (17.5 M counts) through ingest +
validate + windows in at most 60 s and 8 GiB, and doubling the counts at most 2.2x the time.

How: for each ``--zones`` size, a child process generates a synthetic data set
(:mod:`dpforecast.data.synthetic`: a total zone over the others and a few missing
stretches, so the spec's missing-value policy is ``gap``) and writes its CSV and spec into a
throw-away project root (the repository's ``params.yaml`` and ``profiles/``); this setup is
printed but not timed in the headline. A second, fresh child then runs the stages as
library calls (``stages.ingest.ingest``; ``stages.validate.validate``, whose report must
pass; ``stages.release.release`` then ``stages.features.build_features``) and reports each
step's seconds and its peak RSS (``getrusage``: a high-water mark, per process, so per
size). Modules are imported before the clock starts (the Great Expectations import alone
takes seconds) and that time is printed apart.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scale.py [--zones 500 1000 2000] [--days 365]
        [--interval 30] [--layout wide|long] [--engine polars|gx]
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULT = "SCALE-RESULT "
GOAL_ZONES, GOAL_SECONDS, GOAL_GIB, GOAL_RATIO = 1000, 60.0, 8.0, 2.2
STEPS = ("ingest", "validate", "windows")


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def _name(zones: int) -> str:
    return f"scale{zones}"


def setup(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Generate and write the data set into ``root``: a project root of its own."""
    from dpforecast.data import synthetic

    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    shutil.copytree(REPO / "profiles", root / "profiles", dirs_exist_ok=True)
    t0 = time.perf_counter()
    stretches = max(4, args.zones // 100)
    frame = synthetic.generate(args.zones, args.days, args.interval, missing_stretches=stretches, hierarchy=True)
    t1 = time.perf_counter()
    csv, spec = synthetic.write(frame, root / "data" / _name(args.zones), _name(args.zones), args.layout, root=root)
    t2 = time.perf_counter()
    return {"generate_s": t1 - t0, "write_s": t2 - t1, "rows": frame.height,
            "counts": frame.height * args.zones, "csv_mib": csv.stat().st_size / 2**20, "setup_gib": peak_gib()}


def measure(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Ingest, validate and windows on the data set ``setup`` wrote, each timed."""
    t0 = time.perf_counter()
    import great_expectations  # noqa: F401  (imported by the suite; seconds on its own)

    from dpforecast.config import load_params
    from dpforecast.data.ingest import source_files
    from dpforecast.runtime.paths import Paths
    from dpforecast.stages.features import build_features
    from dpforecast.stages.ingest import ingest
    from dpforecast.stages.release import release
    from dpforecast.stages.validate import validate

    params = load_params(root / "params.yaml", dataset=_name(args.zones), validate={"engine": args.engine})
    paths, spec = Paths(root), params.data_set
    assert spec.missing_values == "gap", spec.missing_values
    out: dict[str, Any] = {"import_s": time.perf_counter() - t0, "import_gib": peak_gib()}

    t0 = time.perf_counter()
    base, *added = source_files(root, spec)
    raw = ingest(base, paths.raw_table, added, spec.layout.delimiter)
    out |= {"ingest_s": time.perf_counter() - t0, "ingest_gib": peak_gib(), "raw_rows": raw.height}
    del raw

    t0 = time.perf_counter()
    report = validate(paths.raw_table, paths.series, paths.validation_dir, params)
    out |= {"validate_s": time.perf_counter() - t0, "validate_gib": peak_gib()}
    assert report.passed and report.phase2_run, report.message()
    out |= {"expectations": len(report.results), "phase2": sum(r.phase == 2 for r in report.results)}

    t0 = time.perf_counter()
    release(paths, params)
    windows = build_features(paths, params)
    out |= {"windows_s": time.perf_counter() - t0, "windows_gib": peak_gib(), "windows": windows}
    out["peak_gib"] = peak_gib()
    return out


def child(args: argparse.Namespace) -> None:
    root = Path(args.root)
    result = setup(root, args) if args.child == "setup" else measure(root, args)
    print(RESULT + json.dumps(result), flush=True)


def run_child(kind: str, zones: int, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", kind, "--root", str(root), "--zones", str(zones),
               "--days", str(args.days), "--interval", str(args.interval), "--layout", args.layout,
               "--engine", args.engine]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(RESULT)]
    if done.returncode or not lines:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{kind} child for {zones} zones failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT):])
    return result


def _mark(ok: bool) -> str:
    return "yes" if ok else "NO"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zones", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--interval", type=int, default=30, help="minutes")
    parser.add_argument("--layout", choices=("wide", "long"), default="wide")
    parser.add_argument("--engine", choices=("polars", "gx"), default="polars")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project roots")
    parser.add_argument("--child", choices=("setup", "measure"), help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.zones = args.zones[0]
        child(args)
        return

    print("$ " + shlex.join([Path(sys.executable).name, *sys.argv]))
    print(f"{args.days} days at {args.interval} min, layout {args.layout}, engine {args.engine}; one fresh process "
          "per size for setup and one for the stages")
    rows: list[dict[str, Any]] = []
    for zones in args.zones:
        root = Path(tempfile.mkdtemp(prefix=f"dpforecast-scale{zones}-"))
        try:
            s = run_child("setup", zones, root, args)
            print(f"{zones:>5} zones: setup (not timed below) generate {s['generate_s']:.1f} s, write "
                  f"{s['write_s']:.1f} s ({s['csv_mib']:.0f} MiB CSV, peak {s['setup_gib']:.2f} GiB)", flush=True)
            m = run_child("measure", zones, root, args)
        finally:
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
        m |= {"zones": zones, "counts": s["counts"], "total_s": sum(m[f"{k}_s"] for k in STEPS)}
        print(f"{zones:>5} zones: imports {m['import_s']:.1f} s (not timed below); "
              + ", ".join(f"{k} {m[f'{k}_s']:.1f} s (peak {m[f'{k}_gib']:.2f} GiB)" for k in STEPS)
              + f"; {m['expectations']} expectations ({m['phase2']} typed) passed; windows {m['windows']}", flush=True)
        rows.append(m)

    print()
    print("| zones | counts (M) | ingest s | validate s | windows s | total s | peak GiB | ratio | expectations | goal |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    verdicts: list[bool] = []
    for i, m in enumerate(rows):
        goals: list[str] = []
        ratio = ""
        if i:
            prev = rows[i - 1]
            r = m["total_s"] / prev["total_s"]
            ratio = f"{r:.2f}x"
            if m["counts"] == 2 * prev["counts"]:
                verdicts.append(r <= GOAL_RATIO)
                goals.append(f"doubling <= {GOAL_RATIO}x: {_mark(verdicts[-1])}")
        if m["zones"] == GOAL_ZONES and args.days == 365 and args.interval == 30:
            verdicts += [m["total_s"] <= GOAL_SECONDS, m["peak_gib"] <= GOAL_GIB]
            goals.append(f"<= {GOAL_SECONDS:.0f} s: {_mark(verdicts[-2])}, <= {GOAL_GIB:.0f} GiB: {_mark(verdicts[-1])}")
        print(f"| {m['zones']} | {m['counts'] / 1e6:.2f} | {m['ingest_s']:.1f} | {m['validate_s']:.1f} | "
              f"{m['windows_s']:.1f} | {m['total_s']:.1f} | {m['peak_gib']:.2f} | {ratio} | {m['expectations']} | "
              f"{'; '.join(goals)} |")
    grows = all(b["expectations"] > a["expectations"] for a, b in zip(rows, rows[1:], strict=False))
    print(f"\nexpectations grow with zones: {_mark(grows)}; goals checked: {len(verdicts)}, "
          f"met: {sum(verdicts)}")
    if not grows:
        raise SystemExit("the suite did not grow with the zones: is it validating every column?")


if __name__ == "__main__":
    main()
