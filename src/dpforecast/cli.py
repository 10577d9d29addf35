"""The ``dpforecast`` command: validate a raw file, run one stage, or the whole pipeline."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

from dpforecast.config import Params, load_params
from dpforecast.errors import ConfigError


def _cmd_validate(args: argparse.Namespace) -> int:
    from dpforecast.validation import validate_csv

    params = load_params(args.params, **({"dataset": args.dataset} if args.dataset else {}))
    report = validate_csv(args.path, params)
    if report.passed:
        print(f"{args.path}: valid ({report.rows} rows, {len(report.results)} expectations met)")
        return 0
    print(report.message(), file=sys.stderr)
    hint = _matching_dataset(args.path, params)
    if hint:
        print(f"  (its header is the {hint!r} data set's: .venv/bin/dpforecast validate {args.path} --dataset {hint})",
              file=sys.stderr)
    return 1


def _matching_dataset(path: Path, params: Params) -> str | None:
    """Another declared data set whose columns are this file's header, if any (none when the
    header is this data set's own: then the file, not the data set, is wrong)."""
    from dpforecast.data.spec import available, dataset_path, load_spec

    try:
        header = path.open(encoding="utf-8").readline().strip()
        if header.split(params.data_set.layout.delimiter) == params.data_set.source_columns():
            return None
        root = Path(params.data_set.path).parent.parent
        for name in available(root):
            spec = load_spec(dataset_path(root, name))
            if name != params.dataset and header.split(spec.layout.delimiter) == spec.source_columns():
                return name
    except (OSError, UnicodeDecodeError, ConfigError):
        return None
    return None


def _overrides(items: list[str]) -> dict:
    """``-S a.b=value`` options as nested parameters (values read as YAML)."""
    overrides: dict = {}
    for item in items:
        key, _, value = item.partition("=")
        node = overrides
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    return overrides


def _cmd_study(args: argparse.Namespace) -> int:
    from dpforecast.experiments.study import run_study, study_table
    from dpforecast.runtime.project import project_root

    summary = run_study(project_root(), args.profile, args.model, list(range(args.seeds)),
                        overrides=_overrides(args.set), name=args.name)
    print(study_table(summary))
    return 0


def _cmd_frontier(args: argparse.Namespace) -> int:
    from dpforecast.experiments.frontier import frontier, frontier_table
    from dpforecast.runtime.project import project_root

    extra = {**({"dataset": args.dataset} if args.dataset else {}), **_overrides(args.set)} or None
    result = frontier(project_root(), args.model, tuple(args.epsilons), tuple(args.seeds), tuple(args.units),
                      extra=extra, modes=tuple(args.modes))
    print(frontier_table(result))
    return 0


def _backtest_name(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,47}", value):
        raise argparse.ArgumentTypeError(f"{value!r}: lower-case letters, digits, - and _ only")
    return value


def _cmd_backtest(args: argparse.Namespace) -> int:
    from dpforecast.config import ARCHITECTURES
    from dpforecast.experiments.backtest import backtest, backtest_report
    from dpforecast.runtime.project import project_root

    models = None if not args.model else ARCHITECTURES if "all" in args.model else tuple(dict.fromkeys(args.model))
    try:
        overrides = {**_overrides(args.set), **({"profile": args.profile} if args.profile else {})}
        result = backtest(project_root(), args.folds, args.step_days, refit=not args.no_refit, models=models,
                          overrides=overrides or None, progress=False, name=args.name)
    except ConfigError:
        raise
    except ValueError as exc:  # a plan the series cannot hold, or a fold with no window
        print(f"dpforecast: {exc}", file=sys.stderr)
        return 2
    print(backtest_report(result))
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from dpforecast.experiments.audit import audit, summary
    from dpforecast.runtime.project import project_root

    claims = tuple(args.claims) if args.epsilon is None else (args.epsilon,)
    print(summary(audit(project_root(), args.model, claims, args.canaries, args.seed, progress=True)))
    return 0


def _cmd_variants(args: argparse.Namespace) -> int:
    from dpforecast.experiments.frontier import table, variants
    from dpforecast.runtime.project import project_root

    print(table(variants(project_root(), args.model, args.epsilon)))
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    import mlflow
    from mlflow.exceptions import MlflowException

    from dpforecast.runtime.project import load_project
    from dpforecast.serving.predict import (
        forecast_csv,
        last_window_table,
        write_forecasts,
    )
    from dpforecast.serving.window import ServedFormatError, WindowInputError
    from dpforecast.tracking.mlflow_tracking import configure

    paths, params = load_project()
    configure(paths, params.tracking.experiment)
    try:
        forecast = forecast_csv(args.model, args.input, every_window=args.output is not None)
    except WindowInputError as exc:
        print(f"dpforecast: bad input: {exc}", file=sys.stderr)
        return 2
    except ServedFormatError as exc:
        print(f"dpforecast: {exc}", file=sys.stderr)
        return 2
    except MlflowException as exc:
        print(f"dpforecast: cannot load {args.model} from {mlflow.get_tracking_uri()}: {exc.message}", file=sys.stderr)
        return 2
    print(last_window_table(forecast))
    if args.output is not None:
        try:
            write_forecasts(forecast, args.output)
        except OSError as exc:
            print(f"dpforecast: cannot write {args.output}: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {len(forecast.table)} rows (every complete window of the last complete stretch, lead and "
              f"zone) to {args.output}")
    return 0


def _cmd_restore_data(args: argparse.Namespace) -> int:
    import mlflow

    from dpforecast.data.versioning import (
        DVC_FILE,
        dvc_file_versions,
        dvc_md5,
        restore_data,
    )
    from dpforecast.privacy.published_lineage import matching_version
    from dpforecast.privacy.randomness import load_key
    from dpforecast.runtime.project import load_project
    from dpforecast.tracking.mlflow_tracking import configure

    paths, params = load_project()
    configure(paths, params.tracking.experiment)
    run_id = mlflow.models.get_model_info(args.model).run_id
    keyed = mlflow.get_run(run_id).data.tags.get("data.keyed_version")
    if keyed is None:
        text = mlflow.artifacts.load_text(f"runs:/{run_id}/lineage/{DVC_FILE}")
    else:  # a private run publishes its data version only under the owner's key: find it in git history
        key = load_key()
        text = matching_version(dvc_file_versions(paths.root), keyed, key)
        if text is None:
            print(f"dpforecast restore-data: {args.model} is private: its data version is a keyed digest, and no "
                  f"version of {DVC_FILE} in git history matches it under "
                  f"{'the owner key ' + key.source if key else 'no owner key (set DPFORECAST_PRIVACY_KEY_FILE)'}",
                  file=sys.stderr)
            return 2
    before = dvc_md5(paths.root)
    after = restore_data(paths.root, text)
    print(f"data: {before} -> {after} (the data {args.model} was trained on, run {run_id})")
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from dpforecast.experiments.replay import deliver_next, init_replay

    if args.action == "init":
        days = init_replay(args.root, args.days)
        print(f"{args.root}: base data ends the day before {days[0]}; held back: {', '.join(days)}")
    else:
        print(deliver_next(args.root, corrupt=args.bad))
    return 0


def _cmd_synthesize(args: argparse.Namespace) -> int:
    from dpforecast.data.synthetic import generate, write
    from dpforecast.runtime.project import project_root

    root = project_root()
    frame = generate(args.zones, args.days, args.interval, start=args.start, timezone=args.timezone,
                     seed=args.seed, missing_stretches=args.missing, hierarchy=not args.no_hierarchy,
                     interval_clock=args.clock)
    csv, spec = write(frame, root / "data" / args.name, args.name, args.layout, root=root, seed=args.seed,
                      interval_clock=args.clock)
    print(f"{csv.relative_to(root)}: {frame.height} intervals x {args.zones} zones ({args.layout}); "
          f"spec {spec.relative_to(root)}; train on it with: .venv/bin/dvc exp run -S dataset={args.name}")
    return 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    from dpforecast.data.spec import available, dataset_path, load_spec
    from dpforecast.runtime.project import project_root

    root = project_root()
    for name in available(root):
        s = load_spec(dataset_path(root, name))
        print(f"{name:<12} {len(s.zones):>5} zones  {s.interval_minutes:>4} min  {s.timezone:<18} "
              f"{s.layout.kind:<4}  {s.source.license:<10} {s.title}")
    return 0


def _cmd_datasets_add(args: argparse.Namespace) -> int:
    from dpforecast.api.new_dataset import add_dataset
    from dpforecast.errors import DataFileError
    from dpforecast.runtime.project import project_root

    root = project_root()
    try:
        added = add_dataset(root, args.name, args.file, replace=args.replace)
    except (DataFileError, ConfigError) as exc:
        print(f"dpforecast datasets add: {exc}", file=sys.stderr)
        return 2
    print(added.text(root))
    return 0 if added.report.passed else 1


def _cmd_ledger(args: argparse.Namespace) -> int:
    from dpforecast.privacy.budget import open_ledger
    from dpforecast.privacy.ledger import format_report

    params = load_params(args.params, **({"dataset": args.dataset} if args.dataset else {}))
    print(format_report(open_ledger(params).report()))
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    from dpforecast.registry.bundle import BundleError, export_bundle

    try:
        out = export_bundle(args.model_dir, args.out)
    except BundleError as exc:
        print(f"dpforecast publish: {exc}", file=sys.stderr)
        return 2
    print(f"wrote the publishable bundle of {args.model_dir} to {out}: weights, spec, guarantee, model card "
          f"and the metrics the guarantee covers")
    return 0


def _cmd_key(args: argparse.Namespace) -> int:
    from dpforecast.privacy.randomness import create_key_file, default_key_file

    path = create_key_file(args.path or default_key_file())
    print(f"wrote a new privacy key to {path} (mode 600). Keep it secret and backed up: whoever holds it can "
          f"reproduce, and so subtract, the noise of every release and DP-SGD run made with it.")
    if args.path:
        print(f"use it with: export DPFORECAST_PRIVACY_KEY_FILE={path}")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from dpforecast.config_reference import json_schema, write
    from dpforecast.runtime.project import project_root

    if args.write:
        root = project_root()
        for path in write(root):
            print(f"wrote {path.relative_to(root)}")
        return 0
    print(json.dumps(json_schema(args.document), indent=2, ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dpforecast", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="validate a CSV in its data set's layout; exit 1 on failure")
    v.add_argument("path", type=Path)
    v.add_argument("--params", type=Path, default=Path("params.yaml"))
    v.add_argument("--dataset", help="the data set whose spec the file follows (default: params.yaml's)")
    v.set_defaults(func=_cmd_validate)

    s = sub.add_parser("study", help="train one architecture under a profile for several seeds")
    s.add_argument("--profile", default="paper")
    s.add_argument("--model", default="bigru", choices=["lstm", "gru", "bilstm", "bigru"])
    s.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    s.add_argument("-S", "--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter over the profile, e.g. -S privacy.mode=ip")
    s.add_argument("--name", help="folder under artifacts/study/ (default: the profile)")
    s.set_defaults(func=_cmd_study)

    f = sub.add_parser("frontier", help="test error against epsilon, both mechanisms on one privacy unit")
    f.add_argument("--model", default="bigru", choices=["lstm", "gru", "bilstm", "bigru"])
    f.add_argument("--epsilons", type=float, nargs="+", default=[0.1, 0.3, 1.0, 3.0, 10.0])
    f.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    # data-level units only: the study's "window" is one count for IP and one window for DP-SGD,
    # not one unit for both
    f.add_argument("--units", nargs="+", default=["event", "day", "week", "person"],
                   choices=["event", "day", "week", "person"])
    f.add_argument("--modes", nargs="+", default=["ip", "gp"], choices=["ip", "gp"])
    f.add_argument("--dataset", help="the data set (default: params.yaml's)")
    f.add_argument("-S", "--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter, e.g. -S privacy.budget.event=null against a scratch ledger")
    f.set_defaults(func=_cmd_frontier)

    bt = sub.add_parser("backtest",
                        help="rolling-origin folds before the test period: per-fold scores, the selected model")
    bt.add_argument("--folds", type=int, default=3)
    bt.add_argument("--step-days", type=int, default=7, help="days each fold evaluates (and the origins move by)")
    bt.add_argument("--no-refit", action="store_true", help="train once on fold 1's data and score it on every fold")
    bt.add_argument("--model", action="append", choices=["lstm", "gru", "bilstm", "bigru", "all"],
                    help="repeatable; default: params.yaml's train.model")
    bt.add_argument("--profile", help="parameter profile (default: params.yaml's)")
    bt.add_argument("-S", "--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a candidate's parameter, e.g. -S architectures.gru.units=128 (with --name)")
    bt.add_argument("--name", default="backtest", type=_backtest_name,
                    help="keeps candidates apart: metrics/<name>.json, reports/<name>.md (default: backtest)")
    bt.set_defaults(func=_cmd_backtest)

    au = sub.add_parser("audit", help="white-box canary audit of DP-SGD on public data: epsilon lower bounds per "
                                      "window and per event beside the claims, and the most the canaries could show")
    au.add_argument("--model", default="bigru", choices=["lstm", "gru", "bilstm", "bigru"])
    au.add_argument("--claims", type=float, nargs="+", default=[1.0, 4.0, 8.0], metavar="EPS",
                    help="target epsilons per event: a calibrated training per claim and canary kind (default: 1 4 8)")
    au.add_argument("--canaries", type=int, default=200_000,
                    help="canaries per kind and claim, each in with probability 1/2 (default: 200000)")
    au.add_argument("--seed", type=int, default=0, help="public: the synthetic data, the weights and the audit's draws")
    au.add_argument("--epsilon", type=float, help="one target epsilon per event (same as --claims EPS)")
    au.set_defaults(func=_cmd_audit)

    v2 = sub.add_parser("variants", help="train one IP and one DP-SGD model; print model x privacy")
    v2.add_argument("--model", default="bigru", choices=["lstm", "gru", "bilstm", "bigru"])
    v2.add_argument("--epsilon", type=float, default=1.0)
    v2.set_defaults(func=_cmd_variants)

    p = sub.add_parser("predict", help="forecast the next horizon (every lead, with 80%% and 95%% intervals) "
                                       "from a registered model and recent counts")
    p.add_argument("--model", required=True, help="MLflow model URI, e.g. models:/mobility-bigru@champion")
    p.add_argument("--input", required=True, type=Path,
                   help="CSV of recent counts in the layout of the model's data set (its data file itself, rows in "
                        "any order; e.g. Montreuil's Date, Hour, zones, Total) or timestamp,<zone ids>: the forecast "
                        "follows the last window of consecutive intervals with a count for every zone (a zone "
                        "without enough recent counts is named)")
    p.add_argument("--output", type=Path,
                   help="also write the forecasts of every complete window of the last complete stretch to this CSV, "
                        "one row per window, lead and zone (origin_time, target_time, lead, zone, forecast, "
                        "lower_80, upper_80, lower_95, upper_95)")
    p.set_defaults(func=_cmd_predict)

    r = sub.add_parser("restore-data", help="dvc checkout the data version a registered model was trained on")
    r.add_argument("--model", required=True, help="MLflow model URI, e.g. models:/mobility-bigru@champion")
    r.set_defaults(func=_cmd_restore_data)

    rp = sub.add_parser("replay", help="simulate deliveries: hold back the last days, then deliver them one by one")
    rp.add_argument("action", choices=["init", "next"], help="init: make a demo project; next: deliver one day")
    rp.add_argument("root", type=Path, help="the demo project's folder")
    rp.add_argument("--days", type=int, default=3, help="init: days held back from the end of the series")
    rp.add_argument("--bad", action="store_true", help="next: deliver the day with one negative count")
    rp.set_defaults(func=_cmd_replay)

    sc = sub.add_parser("schema", help="the JSON Schema of params.yaml (params) or of a data set spec (spec); "
                                       "--write regenerates docs/schema/ and docs/reference.md")
    sc.add_argument("document", nargs="?", choices=("params", "spec"), default="params")
    sc.add_argument("--write", action="store_true", help="write docs/schema/*.schema.json and docs/reference.md")
    sc.set_defaults(func=_cmd_schema)

    lg = sub.add_parser("ledger", help="the data set's privacy ledger: each unit's spend (tight and basic), "
                                       "what remains of its budget, and the charges")
    lg.add_argument("--params", type=Path, default=Path("params.yaml"))
    lg.add_argument("--dataset", help="the data set (default: params.yaml's)")
    lg.set_defaults(func=_cmd_ledger)

    pb = sub.add_parser("publish", help="the publishable bundle of a private model: weights, model card, the "
                                        "guarantee on every unit, covered metrics; nothing raw")
    pb.add_argument("model_dir", type=Path, help="a trained model's folder, e.g. models/bigru or a variant's")
    pb.add_argument("--out", type=Path, required=True, help="the bundle's folder (written whole or not at all)")
    pb.set_defaults(func=_cmd_publish)

    k = sub.add_parser("key", help="create the data owner's secret key, from which private randomness is derived")
    k.add_argument("action", choices=["init"])
    k.add_argument("--path", type=Path, help="where to write it (default: ~/.config/dpforecast/privacy.key)")
    k.set_defaults(func=_cmd_key)

    d = sub.add_parser("datasets", help="list the data sets declared in datasets/; `datasets add NAME FILE` starts one "
                                        "from its file")
    d.set_defaults(func=_cmd_datasets)
    da = d.add_subparsers(dest="action").add_parser(
        "add", help="draft datasets/NAME.yaml from a counts file (layout, columns, interval, time zone, clock, "
                    "zones, empty counts), copy the file under data/NAME/, validate it, print what was inferred")
    da.add_argument("name", help="the data set's name: lower-case letters, digits, - and _")
    da.add_argument("file", type=Path, help="the counts file (CSV: wide or long, any delimiter of , ; tab |)")
    da.add_argument("--replace", action="store_true", help="draft the spec again over an existing one")
    da.set_defaults(func=_cmd_datasets_add)

    sy = sub.add_parser("synthesize", help="write a synthetic data set (CSV under data/<name>/ and its spec)")
    sy.add_argument("name", help="data set name (datasets/<name>.yaml)")
    sy.add_argument("--zones", type=int, default=20)
    sy.add_argument("--days", type=int, default=60)
    sy.add_argument("--interval", type=int, default=30, help="minutes; must divide a day")
    sy.add_argument("--layout", choices=["wide", "long"], default="wide")
    sy.add_argument("--start", default="2024-01-01")
    sy.add_argument("--timezone", default="Europe/Paris")
    sy.add_argument("--clock", choices=["absolute", "local"], default="absolute",
                    help="intervals of fixed real length, or starting on the local clock (a change of time's "
                         "interval longer or shorter), as a city's own counts are binned")
    sy.add_argument("--missing", type=int, default=0, help="stretches of missing counts")
    sy.add_argument("--seed", type=int, default=0)
    sy.add_argument("--no-hierarchy", action="store_true", help="no total zone containing the others")
    sy.set_defaults(func=_cmd_synthesize)
    return parser


def main(argv: list[str] | None = None) -> int:
    from dpforecast.privacy.refusals import PRIVACY_REFUSALS
    from dpforecast.runtime.interrupts import sigterm_as_interrupt

    args = build_parser().parse_args(argv)
    try:
        with sigterm_as_interrupt():
            return args.func(args)
    except ConfigError as exc:
        print(f"dpforecast: bad parameter: {exc}", file=sys.stderr)
        return 2
    except PRIVACY_REFUSALS as exc:
        print(f"dpforecast: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
