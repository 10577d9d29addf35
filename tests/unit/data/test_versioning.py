"""dpforecast.data.versioning: the data version in ``data.dvc``, and DVC run for it (a stand-in ``dvc`` here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dpforecast.data import versioning
from dpforecast.data.versioning import (
    DVC_FILE,
    commit_data,
    dvc_file_versions,
    dvc_md5,
    is_dvc_repo,
    restore_data,
    run_dvc,
)

DVC_TEXT = "outs:\n- md5: {md5}\n  path: data\n"


@pytest.fixture
def fake_dvc(tmp_path, monkeypatch) -> Path:
    """A ``dvc`` that logs its arguments, fails on ``fail`` and, on ``add``, records a new hash."""
    script = tmp_path / "bin" / "dvc"
    script.parent.mkdir()
    script.write_text(f"""#!{sys.executable}
import sys
from pathlib import Path
Path("dvc-calls.txt").open("a").write(" ".join(sys.argv[1:]) + "\\n")
if sys.argv[1] == "fail":
    print("out: something"); print("ERROR: it broke", file=sys.stderr); sys.exit(3)
if sys.argv[1] == "add":
    Path("data.dvc").write_text({DVC_TEXT.format(md5="new.dir")!r})
print("done")
""")
    script.chmod(0o755)
    monkeypatch.setattr(versioning, "dvc_executable", lambda: str(script))
    return script


def _repo(root: Path, md5: str = "old.dir") -> Path:
    (root / ".dvc").mkdir(parents=True)
    (root / DVC_FILE).write_text(DVC_TEXT.format(md5=md5))
    return root


def test_the_version_is_the_md5_in_data_dvc(tmp_path):
    assert not is_dvc_repo(tmp_path) and dvc_md5(tmp_path) is None
    _repo(tmp_path, "abc.dir")
    assert is_dvc_repo(tmp_path) and dvc_md5(tmp_path) == "abc.dir"
    (tmp_path / DVC_FILE).write_text("")
    assert dvc_md5(tmp_path) is None


def test_the_dvc_beside_python_comes_before_the_path(tmp_path, monkeypatch):
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    monkeypatch.setattr(sys, "executable", str(venv / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert versioning.dvc_executable() == "dvc"  # none anywhere: the bare name, for the error to name
    (venv / "dvc").write_text("")
    assert versioning.dvc_executable() == str(venv / "dvc")


def test_run_dvc_returns_its_output_or_raises_with_it(tmp_path, fake_dvc):
    assert run_dvc(tmp_path, "status") == "done\n"
    with pytest.raises(RuntimeError, match=r"(?s)dvc fail x failed in .*:\nout: something\nERROR: it broke"):
        run_dvc(tmp_path, "fail", "x")


def test_commit_adds_the_tracked_folder_and_returns_the_new_hash(tmp_path, fake_dvc):
    root = _repo(tmp_path / "project")
    assert commit_data(root) == "new.dir"
    assert (root / "dvc-calls.txt").read_text() == "add data\n"
    with pytest.raises(RuntimeError, match="is not a DVC repository .*cannot be versioned"):
        commit_data(tmp_path)


def test_restore_writes_the_models_data_dvc_and_checks_it_out(tmp_path, fake_dvc):
    root = _repo(tmp_path / "project")
    assert restore_data(root, DVC_TEXT.format(md5="seen.dir")) == "seen.dir"
    assert (root / "dvc-calls.txt").read_text() == f"checkout --force {DVC_FILE}\n"
    with pytest.raises(RuntimeError, match=r"is not a DVC repository \(no .dvc/\)"):
        restore_data(tmp_path, "outs: []")


def test_every_version_of_data_dvc_in_git_history_newest_first(tmp_path):
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.email=t@dpforecast.invalid", "-c", "user.name=t", *args], cwd=tmp_path,
                       check=True, capture_output=True)

    assert dvc_file_versions(tmp_path) == []  # not a repository: nothing to offer
    git("init", "-q")
    for md5 in ("first.dir", "second.dir"):
        (tmp_path / DVC_FILE).write_text(DVC_TEXT.format(md5=md5))
        git("add", DVC_FILE)
        git("commit", "-qm", md5)
    (tmp_path / "other.txt").write_text("x")
    git("add", "other.txt")
    git("commit", "-qm", "unrelated")
    assert dvc_file_versions(tmp_path) == [DVC_TEXT.format(md5="second.dir"), DVC_TEXT.format(md5="first.dir")]
