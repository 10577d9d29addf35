"""The README runs as printed: its in-memory example (on Auckland's counts, charged to a test
ledger), and every command it shows, in a new shell after the set-up command: each program
is the venv's (`.venv/bin/dvc`, never `dvc`, which a new shell does not have), each script
and example file exists, and each command line parses with its program's own parser (the
subcommands and options exist; `dpforecast <subcommand> --help` works). DVC's stages run
with the project's Python whatever the shell's PATH (``pipelines/python.sh``)."""

from __future__ import annotations

import importlib
import os
import re
import shlex
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "auckland_in_memory.py"
README = ROOT / "README.md"
# Programs the venv installs: a new shell has none of them on its PATH.
VENV_PROGRAMS = ("dvc", "dpforecast", "mlflow", "dagster", "dg", "python", "python3", "pip", "pytest")
SYSTEM_PROGRAMS = ("bash", "sh", "git")
# Arguments naming files of the repository (data/ is restored by `dvc pull`, so not checked).
REPO_FILES = re.compile(r"^(examples|scripts|benchmarks|datasets|profiles|pipelines)/")


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


def readme_commands() -> list[tuple[int, str]]:
    """(line, command) for every line of the README's ``bash`` blocks (continuations
    joined, comments dropped) and every inline code span that runs a program, each command
    of a ``&&`` chain apart. A span of one word names a program; it runs nothing."""
    found: list[tuple[int, str]] = []
    fence, pending = None, ""
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip()
            continue
        if fence == "bash":
            if line.lstrip().startswith("#"):
                continue
            text = pending + re.sub(r"\s+#.*$", "", line)
            if text.rstrip().endswith("\\"):
                pending = text.rstrip()[:-1] + " "
                continue
            pending = ""
            if text.strip():
                found.append((number, text.strip()))
        elif fence is None:
            for span in re.findall(r"`([^`]+)`", line):
                words = span.split()
                program = next((w for w in words if not re.match(r"^[A-Z_]+=", w)), "")
                if len(words) > 1 and Path(program).name in VENV_PROGRAMS + SYSTEM_PROGRAMS:
                    found.append((number, span))
    return [(n, part.strip()) for n, command in found for part in command.split("&&")]


def _words(command: str) -> list[str]:
    """The command's words after its variable assignments, optional ``[...]`` parts of a
    synopsis left out."""
    words = shlex.split(re.sub(r"\[[^\]]*\]", "", command))
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words.pop(0)
    return words


def _click_command(program: str):
    """The click command behind a console script (its entry point, or the module's ``cli``)."""
    import click

    [entry] = list(entry_points(group="console_scripts", name=program))[:1]
    module, _, attr = entry.value.partition(":")
    loaded = getattr(importlib.import_module(module), attr)
    return loaded if isinstance(loaded, click.Command) else importlib.import_module(module).cli


def _click_parses(program: str, args: list[str]) -> None:
    """Parse ``args`` down the command's groups: an unknown subcommand or option raises."""
    command, name = _click_command(program), program
    while True:
        ctx = command.make_context(name, list(args), resilient_parsing=False)
        if not hasattr(command, "resolve_command"):
            return
        name, command, args = command.resolve_command(ctx, ctx.protected_args + ctx.args)


def _parses(program: str, args: list[str]) -> None:
    if program == "dpforecast":
        from dpforecast.cli import build_parser

        build_parser().parse_args(args)
    elif program == "dvc":
        from dvc.cli import parse_args

        parse_args(args)
    else:
        _click_parses(program, args)


def test_every_readme_command_runs_as_printed_in_a_new_shell(capsys):
    commands = readme_commands()
    assert len(commands) > 60 and any(c.startswith(".venv/bin/dvc exp run") for _, c in commands)
    bin_dir = Path(sys.executable).parent  # the venv scripts/setup-env.sh makes: ROOT/.venv in CI
    problems = []
    for number, command in commands:
        words = _words(command)
        program, args = words[0], words[1:]
        where = f"README.md:{number}: {command}"
        if program in VENV_PROGRAMS:
            problems.append(f"{where}: {program} is not on a new shell's PATH; write .venv/bin/{program}")
            continue
        for arg in args:
            if REPO_FILES.match(arg) and not (ROOT / arg).exists():
                problems.append(f"{where}: no file {arg}")
        if program in SYSTEM_PROGRAMS:
            if program in ("bash", "sh") and not (ROOT / args[0]).is_file():
                problems.append(f"{where}: no script {args[0]}")
            continue
        if not program.startswith(".venv/bin/") or not (bin_dir / Path(program).name).is_file():
            problems.append(f"{where}: {program} is not a program the venv installs")
            continue
        if Path(program).name.startswith("python"):
            if not (ROOT / args[0]).is_file():
                problems.append(f"{where}: no script {args[0]}")
            continue
        try:
            _parses(Path(program).name, args)
        except (SystemExit, Exception) as exc:  # argparse exits, DVC and click raise
            problems.append(f"{where}: does not parse: {exc!r}")
    capsys.readouterr()  # argparse's complaints, already in the problems
    assert problems == [], "\n".join(problems)


def test_every_dpforecast_subcommand_the_readme_shows_has_help(capsys):
    from dpforecast.cli import main

    shown = {_words(c)[1] for _, c in readme_commands() if _words(c)[0] == ".venv/bin/dpforecast"}
    assert {"validate", "predict", "synthesize", "backtest", "ledger", "audit"} <= shown
    for sub in sorted(shown):
        with pytest.raises(SystemExit) as done:
            main([sub, "--help"])
        assert done.value.code == 0 and f"usage: dpforecast {sub}" in capsys.readouterr().out, sub


def test_dvc_stages_run_with_the_projects_python_whatever_the_path(tmp_path):
    """``.venv/bin/dvc repro`` in a shell without the venv on PATH: every stage runs
    ``sh pipelines/python.sh``, which finds the workspace's venv, or the one of the
    workspace a temporary experiment copy came from (``DVC_ROOT``), and puts the tree's own
    ``src/`` first."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert {name: stage["cmd"] for name, stage in stages.items()} == {
        name: f"sh pipelines/python.sh pipelines/{name}.py" for name in stages}
    assert all((ROOT / "pipelines" / f"{name}.py").is_file() for name in stages)
    if not (ROOT / ".venv" / "bin" / "python").is_file():
        pytest.skip("no .venv in the working tree (bash scripts/setup-env.sh makes it)")
    bare = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    probe = "import sys, dpforecast; print(sys.executable); print(dpforecast.__file__)"
    launcher = str(ROOT / "pipelines" / "python.sh")
    here = subprocess.run(["sh", launcher, "-c", probe], cwd=ROOT, env=bare, capture_output=True, text=True)
    assert here.returncode == 0, here.stderr
    assert here.stdout.split() == [str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "src" / "dpforecast" / "__init__.py")]
    copy = tmp_path / "exps" / "tmp1"  # what `dvc exp run --temp` runs in: the tree's files, no .venv
    copy.mkdir(parents=True)
    (copy / "src").symlink_to(ROOT / "src")
    there = subprocess.run(["sh", launcher, "-c", probe], cwd=copy, env={**bare, "DVC_ROOT": str(ROOT)},
                           capture_output=True, text=True)
    assert there.returncode == 0, there.stderr
    assert there.stdout.split() == [str(ROOT / ".venv" / "bin" / "python"), str(copy / "src" / "dpforecast" / "__init__.py")]
