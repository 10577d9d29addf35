"""Data sets as specs: bad specs and bad files are refused by name, with no traceback and
nothing written; a third data set in the long layout runs through every stage; Auckland
reads as its spec declares."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from dpforecast.cli import main
from dpforecast.config import load_params
from dpforecast.data.spec import SpecError, load_spec
from dpforecast.runtime.paths import Paths

from project_roots import REPO, TINY, make_root

MONTREUIL = yaml.safe_load((REPO / "datasets" / "montreuil.yaml").read_text())


def _spec_file(tmp_path: Path, spec: dict, name: str = "montreuil") -> Path:
    folder = tmp_path / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _with(**changes) -> dict:
    spec = json.loads(json.dumps(MONTREUIL))
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = spec
        for p in parents:
            node = node[p]
        if value is None:
            node.pop(leaf)
        else:
            node[leaf] = value
    return spec


BAD_SPECS = {
    "unknown key": (_with(colour="blue"), "unknown key(s) colour"),
    "unknown nested key": (_with(layout__sheet="1"), "layout: unknown key(s) sheet"),
    "missing required key": (_with(timezone=None), "timezone: required key is missing"),
    "missing zones": (_with(zones=None), "zones: required key is missing"),
    "no zones": (_with(zones=[]), "zones: expected a non-empty list of zones"),
    "hierarchy zone not a column": (_with(privacy__contains={"r1": ["r2", "r9"]}), "privacy.contains.r1: 'r9' is not a zone"),
    "interval does not divide a day": (_with(interval_minutes=7), "interval_minutes: 7 does not divide a day"),
    "bad time zone": (_with(timezone="Mars/Olympus"), "timezone: 'Mars/Olympus' is not an IANA time zone"),
    "long layout without count column": (_with(layout={"kind": "long", "timestamp": "ds", "zone": "unique_id"}),
                                         "a long layout needs zone and count columns"),
    "policy value": (_with(missing_values="fill"), "missing_values: must be one of refuse, gap"),
    "containment cycle": (_with(privacy__contains={"r1": ["r2"], "r2": ["r1"]}), "containment cycle"),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_a_bad_spec_is_refused_with_its_file_and_key(case: str, tmp_path: Path):
    spec, message = BAD_SPECS[case]
    path = _spec_file(tmp_path, spec)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_spec_file_that_is_not_yaml_or_not_text(tmp_path: Path):
    path = tmp_path / "datasets" / "montreuil.yaml"
    path.parent.mkdir()
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(SpecError, match="not UTF-8 text"):
        load_spec(path)
    path.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(path)


def _stage(root: Path, stage: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DPFORECAST_ROOT": str(root), "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, str(REPO / "pipelines" / f"{stage}.py")], cwd=root, env=env,
                          capture_output=True, text=True)


@pytest.mark.parametrize("case", ["unknown key", "hierarchy zone not a column", "interval does not divide a day"])
@pytest.mark.real_data
def test_a_dvc_stage_refuses_a_bad_spec_in_one_line_and_writes_nothing(case: str, tmp_path: Path):
    root = make_root(tmp_path / "p")
    spec, message = BAD_SPECS[case]
    _spec_file(root, spec)
    proc = _stage(root, "ingest")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and message in proc.stderr and "montreuil.yaml" in proc.stderr
    assert not (root / "artifacts").exists()


def _bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    folder.mkdir(parents=True, exist_ok=True)
    header = "Date,Hour,Commune Montreuil,IRIS 930480204,IRIS 930480205,IRIS 930480206,IRIS 930480401,IRIS 930480604,Total\n"
    row = "2020-08-24,00:00:00,100209,9885,11802,8783,2893,9076,142648\n"
    cases = {
        "not text": (bytes(range(256)) * 8, "not a readable"),
        "another encoding": (header.replace("Commune", "Communé").encode("latin-1") + row.encode("latin-1"), "not a readable"),
        "another delimiter": ((header + row).replace(",", ";").encode(), "';' as delimiter"),
        "header only": (header.encode(), "found 0 data row(s)"),
        "another data set's columns": ((REPO / "data" / "auckland" / "hourly_counts.csv").read_bytes()[:20000],
                                       "lacks column(s) 'Date', 'Hour'"),
        "layout that does not match": (b"unique_id,ds,y\nr1,2020-08-24T00:00:00+02:00,5\n", "lacks column(s)"),
        "empty": (b"", "the file is empty"),
    }
    out = {}
    for i, (name, (data, message)) in enumerate(cases.items()):
        path = folder / f"bad{i}.csv"
        path.write_bytes(data)
        out[name] = (path, message)
    return out


@pytest.mark.real_data
def test_any_bytes_get_a_message_naming_the_file_and_no_traceback(tmp_path: Path, capsys):
    for name, (path, message) in _bad_files(tmp_path).items():
        code = main(["validate", str(path), "--params", str(REPO / "params.yaml")])
        err = capsys.readouterr().err
        assert code == 1, name
        assert str(path) in err and message in err, (name, err)
        assert "Traceback" not in err


@pytest.mark.real_data
def test_the_pipeline_refuses_a_bad_file_and_keeps_the_previous_series(tmp_path: Path):
    root = make_root(tmp_path / "p")
    assert _stage(root, "ingest").returncode == 0
    assert _stage(root, "validate").returncode == 0
    good = (root / "artifacts" / "validate" / "series.parquet").read_bytes()
    raw = root / "data" / "montreuil" / "ML_final_df_real.csv"
    for name, (path, _) in _bad_files(tmp_path / "bad").items():
        raw.write_bytes(path.read_bytes())
        ingest, validate = _stage(root, "ingest"), _stage(root, "validate")
        for proc in (ingest, validate):
            assert "Traceback" not in proc.stderr, (name, proc.stderr)
        assert ingest.returncode != 0 or validate.returncode != 0, name
        assert (root / "artifacts" / "validate" / "series.parquet").read_bytes() == good, name


@pytest.mark.real_data
def test_a_third_data_set_in_the_long_layout_runs_through_every_stage(tmp_path: Path, capsys):
    """The README's worked example: `dpforecast synthesize city --layout long`, then the
    pipeline on it by naming it; this runs the same stage functions as `dvc exp run -S dataset=city`."""
    from dpforecast.data.ingest import source_files
    from dpforecast.stages.evaluate import evaluate
    from dpforecast.stages.features import build_features
    from dpforecast.stages.ingest import ingest
    from dpforecast.stages.release import release
    from dpforecast.stages.train import train
    from dpforecast.stages.validate import validate

    root = make_root(tmp_path / "p", {**TINY, "dataset": "city"})
    os.environ["DPFORECAST_ROOT"] = str(root)
    try:
        assert main(["synthesize", "city", "--layout", "long", "--zones", "5", "--days", "30", "--interval", "60",
                     "--missing", "2", "--seed", "3"]) == 0
    finally:
        del os.environ["DPFORECAST_ROOT"]
    assert "dataset=city" in capsys.readouterr().out
    params = load_params(root / "params.yaml")
    spec = params.data_set
    assert spec.layout.kind == "long" and spec.interval_minutes == 60 and len(spec.zones) == 5
    assert pl.read_csv(root / spec.raw, n_rows=1).columns == ["unique_id", "ds", "y"]
    paths = Paths(root)
    base, *added = source_files(root, spec)
    ingest(base, paths.raw_table, added, spec.layout.delimiter)
    report = validate(paths.raw_table, paths.series, paths.validation_dir, params)
    assert report.passed
    series = pl.read_parquet(paths.series)
    assert series.columns == ["timestamp", *spec.zone_ids] and series.height == 30 * 24
    release(paths, params)
    counts = build_features(paths, params)
    summary = json.loads(paths.feature_summary.read_text())
    assert summary["windows_dropped_for_missing_counts"] > 0 and summary["missing_counts"]
    assert counts["test"] > 0
    results = train(paths, params, progress=False)
    assert {r.architecture for r in results} == {"lstm", "gru", "bilstm", "bigru"}
    assert results[0].zones == spec.zone_ids
    metrics = evaluate(paths, params, track=False)
    assert set(metrics["persistence"]["rmse"]) == {*spec.zone_ids, "mean"}
    mase = json.loads(paths.metric("mase").read_text())
    assert set(mase) == {"dataset", "horizon", "persistence", "ridge", "seasonal_day", "seasonal_week", "autoets",
                         "lstm", "gru", "bilstm", "bigru"}


@pytest.mark.real_data
def test_auckland_reads_as_its_spec_declares(tmp_path: Path):
    """The 06:00 day start, hour ranges, decimal counts, daylight time and the garbled rows."""
    from dpforecast.data.ingest import read_raw
    from dpforecast.validation import validate_raw

    params = load_params(REPO / "params.yaml", dataset="auckland")
    raw = read_raw(REPO / params.data_set.raw)
    report = validate_raw(raw, params, source="auckland")
    assert report.passed, report.message()
    # the skipped hour of each start of daylight time, and the rows repeating a timestamp
    assert report.dropped_rows == {"local time skipped by a change of time": 6, "timestamp repeated in the file": 11}
    from dpforecast.validation.derive import to_series

    series = to_series(raw, params.data_set)
    first = series.row(0, named=True)
    assert str(first["timestamp"]) == "2019-01-01 06:00:00+13:00" and first["n1_courthouse_lane"] == 4
    # New Year's night is the first hours of 1 January, though the file files them under 31 December.
    midnight = series.filter(pl.col("timestamp").dt.replace_time_zone(None) == pl.datetime(2020, 1, 1, 0))
    assert midnight["n1_courthouse_lane"].item() == 286
    assert series["timestamp"].is_unique().all() and series["timestamp"].is_sorted()


@pytest.mark.real_data
def test_replayed_deliveries_follow_the_data_sets_layout(tmp_path: Path):
    """Held-back days of a long-layout data set are delivered as files of that layout; a
    corrupted one is refused by validation, a good one accepted."""
    from dpforecast.experiments.replay import deliver_next, init_replay
    from dpforecast.stages.arrivals import process_incoming

    root = make_root(tmp_path / "p", {"dataset": "city"})
    os.environ["DPFORECAST_ROOT"] = str(root)
    try:
        assert main(["synthesize", "city", "--layout", "long", "--zones", "3", "--days", "10", "--interval", "60"]) == 0
    finally:
        del os.environ["DPFORECAST_ROOT"]
    spec = yaml.safe_load((root / "datasets" / "city.yaml").read_text())
    spec["files"]["increments"] = "data/city/increments"
    (root / "datasets" / "city.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    shutil.copyfile(REPO / ".dvcignore", root / ".dvcignore")
    held = init_replay(tmp_path / "demo", days=2, source=root)
    demo = tmp_path / "demo"
    assert len(held) == 2
    params = load_params(demo / "params.yaml")
    assert "corrupted" in deliver_next(demo, corrupt=True)
    delivered = next((demo / params.data_set.incoming).glob("*.csv"))
    assert delivered.read_text().splitlines()[0] == "unique_id,ds,y"
    [refused] = process_incoming(demo, params)
    assert not refused.accepted and "column 'y'" in refused.message
    deliver_next(demo)
    [accepted] = process_incoming(demo, params)
    assert accepted.accepted, accepted.message


def test_params_name_a_declared_data_set():
    from dpforecast.errors import ConfigError

    with pytest.raises(ConfigError, match="dataset: no spec .*nowhere.yaml"):
        load_params(REPO / "params.yaml", dataset="nowhere")
    with pytest.raises(ConfigError, match="dataset: not a data set name"):
        load_params(REPO / "params.yaml", dataset="../etc")
    auckland = load_params(REPO / "params.yaml", dataset="auckland")
    assert auckland.protocol() == (28, 28, 365) and auckland.model_prefix() == "auckland"  # its own name
    assert load_params(REPO / "params.yaml").model_prefix() == "mobility"  # Montreuil keeps its names
    assert "60-minute interval" in auckland.ip_unit()
    assert load_params(REPO / "params.yaml", dataset="auckland", split={"history_days": 0}).protocol()[2] is None


@pytest.mark.real_data
def test_a_zone_with_no_count_in_training_is_refused_or_dropped_as_the_spec_says(tmp_path: Path):
    from dpforecast.data.ingest import source_files
    from dpforecast.features.zones import EmptyZoneError
    from dpforecast.stages.features import build_features
    from dpforecast.stages.ingest import ingest
    from dpforecast.stages.release import release
    from dpforecast.stages.validate import validate

    root = make_root(tmp_path / "p", {"dataset": "town"})
    os.environ["DPFORECAST_ROOT"] = str(root)
    try:
        assert main(["synthesize", "town", "--zones", "4", "--days", "21", "--interval", "60", "--no-hierarchy"]) == 0
    finally:
        del os.environ["DPFORECAST_ROOT"]
    csv = root / "data" / "town" / "town.csv"
    frame = pl.read_csv(csv, infer_schema=False)
    frame.with_columns(pl.lit(None, pl.String).alias("z0003")).write_csv(csv)  # a sensor never reported
    spec_path = root / "datasets" / "town.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["missing_values"] = "gap"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    paths = Paths(root)

    def run() -> dict:
        params = load_params(root / "params.yaml")
        base, *added = source_files(root, params.data_set)
        ingest(base, paths.raw_table, added)
        validate(paths.raw_table, paths.series, paths.validation_dir, params)
        release(paths, params)
        return build_features(paths, params)

    with pytest.raises(EmptyZoneError, match=r"z0003 \(Synthetic zone 0003\) have no count in the training period"):
        run()
    assert not paths.feature_table.exists()
    spec["empty_zones"] = "drop"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    counts = run()
    summary = json.loads(paths.feature_summary.read_text())
    assert summary["dropped_zones"] == ["z0003"] and "z0003" not in summary["modelled_zones"]
    assert counts["train"] > 0 and "z0003" not in pl.read_parquet(paths.targets).columns


@pytest.mark.real_data
def test_iso_offsets_carry_the_repeated_hour_at_the_end_of_summer_time(tmp_path: Path):
    """A file whose timestamps carry their UTC offsets has both occurrences of the repeated
    hour: they are two instants, on the grid, and nothing is left out."""
    from dpforecast.data.synthetic import generate, write
    from dpforecast.validation import validate_csv

    root = make_root(tmp_path / "p", {"dataset": "autumn"})
    frame = generate(3, 4, 30, start="2024-10-26", timezone="Europe/Paris", hierarchy=False)
    csv, _ = write(frame, root / "data" / "autumn", "autumn", "long", root=root)
    assert "2024-10-27T02:30:00+02:00" in csv.read_text() and "2024-10-27T02:30:00+01:00" in csv.read_text()
    report = validate_csv(csv, load_params(root / "params.yaml"))
    assert report.passed and report.dropped_rows == {}, report.message()
    series = report.typed
    assert series.height == 4 * 48 and series["timestamp"].is_unique().all()  # 96 hours of real time


# --------------------------------------------------------------------------- edge cases a review found


def _long_spec(tmp_path: Path, **changes) -> tuple[Path, dict]:
    root = make_root(tmp_path / "p", {"dataset": "grid"})
    spec = {
        "name": "grid", "title": "two zones", "source": {"license": "CC0-1.0", "citation": "test"},
        "files": {"raw": "data/grid/grid.csv"},
        "layout": {"kind": "long", "timestamp": "ds", "zone": "unique_id", "count": "y"},
        "interval_minutes": 60, "timezone": "Europe/Paris",
        "zones": [{"id": "a", "value": "a"}, {"id": "b", "value": "b"}],
        "privacy": {"counts_per_person": 1, "reason": "disjoint"},
        "protocol": {"test_days": 1, "validation_days": 0},
        **changes,
    }
    _spec_file(root, spec, "grid")
    return root, spec


def _long_csv(root: Path, stamps: list[str], skip: tuple[str, str] | None = None) -> Path:
    lines = ["unique_id,ds,y"] + [f"{z},{t},5" for t in stamps for z in "ab" if (z, t) != skip]
    path = root / "data" / "grid" / "grid.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _hours(n: int, start: str = "2020-09-01T00:00:00+02:00") -> list[str]:
    from datetime import datetime, timedelta

    t0 = datetime.fromisoformat(start)
    return [(t0 + timedelta(hours=i)).isoformat() for i in range(n)]


@pytest.mark.real_data
def test_a_long_file_missing_a_zones_row_is_refused_unless_missing_values_are_gaps(tmp_path: Path):
    from dpforecast.validation import validate_csv

    root, spec = _long_spec(tmp_path)
    stamps = _hours(60)
    path = _long_csv(root, stamps, skip=("b", stamps[2]))
    report = validate_csv(path, load_params(root / "params.yaml", validate={"min_rows": 1}))
    assert not report.passed and "no count for this zone at this time" in report.message()
    _spec_file(root, {**spec, "missing_values": "gap"}, "grid")
    assert validate_csv(path, load_params(root / "params.yaml", validate={"min_rows": 1})).passed


@pytest.mark.real_data
def test_seconds_off_the_grid_are_refused(tmp_path: Path):
    from dpforecast.validation import validate_csv

    root, _ = _long_spec(tmp_path)
    stamps = _hours(30)
    stamps[5] = stamps[5].replace(":00:00+", ":00:59+")
    report = validate_csv(_long_csv(root, stamps), load_params(root / "params.yaml", validate={"min_rows": 1}))
    assert not report.passed and "off the 60-minute grid" in report.message()


def test_a_zone_under_two_parents_counts_in_both():
    spec = _with(zones=[{"id": i, "column": i} for i in ("city", "district", "ward")],
                 total=None, declared_gaps=[], registry_prefix=None)
    spec["privacy"] = {"contains": {"city": ["ward"], "district": ["ward"]}, "reason": "overlapping"}
    from dpforecast.data.spec import spec_from_dict

    assert spec_from_dict(spec, "x.yaml").privacy.counts_per_person == 3
    spec["privacy"] = {"contains": {"city": ["district"], "district": ["ward"]}, "reason": "nested"}
    assert spec_from_dict(spec, "x.yaml").privacy.counts_per_person == 3
    spec["privacy"] = {"contains": {"city": ["district", "ward"]}, "reason": "disjoint children"}
    assert spec_from_dict(spec, "x.yaml").privacy.counts_per_person == 2


@pytest.mark.parametrize(("changes", "message"), [
    ({"layout__date_format": "%d/%m/%y"}, "unsupported strftime directive"),
    ({"zones": [{"id": "a", "column": "Total"}, {"id": "b", "column": "Total"}]}, "given to more than one zone"),
])
def test_spec_values_validation_could_not_use_are_refused_on_load(changes: dict, message: str, tmp_path: Path):
    with pytest.raises(SpecError, match=message):
        load_spec(_spec_file(tmp_path, _with(**changes)))


@pytest.mark.real_data
def test_an_ambiguous_hour_the_spec_refuses_is_not_taken_for_a_skipped_one(raw_csv_path: Path, tmp_path: Path):
    from dpforecast.data.ingest import read_raw
    from dpforecast.validation.derive import typed_table

    spec = load_spec(REPO / "datasets" / "montreuil.yaml")
    from dataclasses import replace

    strict = replace(spec, ambiguous_times="refuse", nonexistent_times="gap")
    typed, dropped = typed_table(read_raw(raw_csv_path), strict)
    assert dropped.height == 0
    assert typed.filter(pl.col("parse_problem").is_not_null())["Hour"].to_list() == ["02:00:00", "02:30:00"]


@pytest.mark.real_data
def test_serving_refuses_a_short_timestamp_without_offset_and_reads_the_own_layout_as_its_spec(tmp_path: Path):
    from dpforecast.serving.window import WindowInputError, recent_counts

    root, spec = _long_spec(tmp_path)
    spec = load_spec(root / "datasets" / "grid.yaml")
    short = pl.DataFrame({"timestamp": ["2020-09-01T08:00:00", "2020-09-01T09:00:00"], "a": [1, 2], "b": [3, 4]})
    with pytest.raises(WindowInputError, match="has no UTC offset"):
        recent_counts(short, spec, ["a", "b"])
    own = pl.DataFrame({"unique_id": ["a", "b"], "ds": ["2020-09-01T08:00:00+02:00"] * 2, "y": ["1", "2"]})
    counts = recent_counts(own, spec, ["a", "b"])
    assert str(counts["timestamp"][0]) == "2020-09-01 08:00:00+02:00" and counts.row(0)[1:] == (1, 2)


@pytest.mark.real_data
def test_a_data_set_without_an_increments_folder_takes_no_deliveries(tmp_path: Path):
    from dpforecast.errors import ConfigError
    from dpforecast.stages.arrivals import process_incoming

    root, _ = _long_spec(tmp_path)
    params = load_params(root / "params.yaml")
    assert process_incoming(root, params) == []
    incoming = root / params.data_set.incoming
    incoming.mkdir(parents=True)
    (incoming / "2020-09-03.csv").write_text("unique_id,ds,y\n")
    with pytest.raises(ConfigError, match="files.increments is not declared"):
        process_incoming(root, params)
