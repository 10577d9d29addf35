"""dpforecast.cli: each command's one-line outcome and exit code on a synthetic project (the commands that
train, serve or run DVC are exercised in tests/integration/ and tests/e2e/)."""

from __future__ import annotations

import stat

import pytest

from dpforecast.cli import _overrides, build_parser, main
from dpforecast.data import synthetic

from synthetic_project import make_synthetic_root


@pytest.fixture
def root(tmp_path, monkeypatch):
    root = make_synthetic_root(tmp_path / "project", days=3)
    monkeypatch.setenv("DPFORECAST_ROOT", str(root))
    return root


def test_set_options_are_nested_parameters_read_as_yaml():
    assert _overrides(["privacy.mode=ip", "privacy.budget.event=null", "train.epochs=3", "dataset=town"]) == {
        "privacy": {"mode": "ip", "budget": {"event": None}}, "train": {"epochs": 3}, "dataset": "town"}
    assert _overrides([]) == {}


def test_the_parser_refuses_a_bad_backtest_name_and_an_unknown_command(capsys):
    assert build_parser().parse_args(["backtest", "--name", "gru-128"]).name == "gru-128"
    for argv in (["backtest", "--name", "Big Model"], ["train"]):
        with pytest.raises(SystemExit) as ended:
            main(argv)
        assert ended.value.code == 2
    err = capsys.readouterr().err
    assert "'Big Model': lower-case letters, digits, - and _ only" in err and "invalid choice: 'train'" in err


def test_validate_says_valid_or_fails_with_the_suites_message(root, capsys):
    csv = root / "data" / "town" / "town.csv"
    assert main(["validate", str(csv), "--params", str(root / "params.yaml")]) == 0
    assert capsys.readouterr().out.startswith(f"{csv}: valid (72 rows, ")
    lines = csv.read_text().splitlines(keepends=True)
    cells = lines[2].split(",")
    (root / "bad.csv").write_text("".join([*lines[:2], ",".join([cells[0], "x", *cells[2:]]), *lines[3:]]))
    assert main(["validate", str(root / "bad.csv"), "--params", str(root / "params.yaml")]) == 1
    err = capsys.readouterr().err
    assert "line 3" in err and "its header is" not in err  # its own header: the file is wrong, not the data set


def test_a_file_of_another_declared_data_set_gets_a_hint(root, capsys):
    other = synthetic.generate(zones=2, days=2, interval_minutes=60, hierarchy=False).rename({"z0001": "north",
                                                                                              "z0002": "south"})
    csv, _ = synthetic.write(other, root / "data" / "city", "city", root=root)
    assert main(["validate", str(csv), "--params", str(root / "params.yaml")]) == 1
    assert f"its header is the 'city' data set's: .venv/bin/dpforecast validate {csv} --dataset city" in capsys.readouterr().err
    assert main(["validate", str(csv), "--params", str(root / "params.yaml"), "--dataset", "city"]) == 0


def test_a_bad_parameter_and_a_privacy_refusal_are_one_line_and_exit_2(root, capsys, monkeypatch):
    assert main(["ledger", "--params", str(root / "params.yaml"), "--dataset", "nowhere"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dpforecast: bad parameter: dataset: no spec") and err.count("\n") == 1
    monkeypatch.setenv("DPFORECAST_LEDGER", str(root))  # a folder, not a ledger
    assert main(["ledger", "--params", str(root / "params.yaml")]) == 2
    assert capsys.readouterr().err == f"dpforecast: cannot open privacy ledger {root}: it is a directory\n"


def test_ledger_datasets_and_synthesize_print_what_they_did(root, capsys):
    assert main(["ledger", "--params", str(root / "params.yaml")]) == 0
    assert "town" in capsys.readouterr().out
    assert main(["synthesize", "village", "--zones", "2", "--days", "1", "--interval", "60", "--no-hierarchy"]) == 0
    assert capsys.readouterr().out.startswith("data/village/village.csv: 24 intervals x 2 zones (wide); spec "
                                              "datasets/village.yaml; train on it with: .venv/bin/dvc exp run -S dataset=village")
    assert main(["datasets"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == ["town", "village"] and listed[1].split()[1:3] == ["2", "zones"]


def test_key_init_writes_an_owner_only_key(tmp_path, capsys):
    path = tmp_path / "keys" / "privacy.key"
    assert main(["key", "init", "--path", str(path)]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_bytes()) >= 32
    out = capsys.readouterr().out
    assert f"wrote a new privacy key to {path} (mode 600)" in out
    assert f"use it with: export DPFORECAST_PRIVACY_KEY_FILE={path}" in out


def test_publish_refuses_a_folder_that_is_not_a_model(tmp_path, capsys):
    assert main(["publish", str(tmp_path), "--out", str(tmp_path / "bundle")]) == 2
    assert capsys.readouterr().err == f"dpforecast publish: {tmp_path}: not a model folder (no model.json)\n"
    assert not (tmp_path / "bundle").exists()
