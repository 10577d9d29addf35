"""dpforecast.lineage: the data file's md5, the DVC hash of the data folder, the commit and the code."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

from dpforecast.lineage import code_digest, data_version, file_md5, git_commit


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@dpforecast.invalid", "-c", "user.name=t", *args], cwd=root,
                          capture_output=True, text=True, check=True).stdout.strip()


def test_file_md5_reads_the_whole_file_in_blocks(tmp_path):
    path = tmp_path / "big.bin"
    data = bytes(range(256)) * 5000  # over one 1 MiB block
    path.write_bytes(data)
    assert file_md5(path) == hashlib.md5(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert file_md5(tmp_path / "empty") == "d41d8cd98f00b204e9800998ecf8427e"


def test_data_version_is_the_file_read_and_the_dvc_hash_when_recorded(tmp_path):
    raw = tmp_path / "counts.csv"
    raw.write_text("a,b\n1,2\n")
    assert data_version(tmp_path, raw) == {"data.file_md5": file_md5(raw)}
    (tmp_path / "data.dvc").write_text("outs:\n- md5: 0123abcd.dir\n  path: data\n")
    assert data_version(tmp_path, raw) == {"data.file_md5": file_md5(raw), "data.dvc_md5": "0123abcd.dir"}


def test_git_commit_is_head_marked_dirty_when_tracked_files_change(tmp_path):
    assert git_commit(tmp_path) == "unknown"  # not a repository
    _git(tmp_path, "init", "-q")
    (tmp_path / "f.txt").write_text("one")
    _git(tmp_path, "add", "f.txt")
    _git(tmp_path, "commit", "-qm", "one")
    head = _git(tmp_path, "rev-parse", "HEAD")
    assert git_commit(tmp_path) == head
    (tmp_path / "untracked.txt").write_text("not ours")
    assert git_commit(tmp_path) == head  # untracked files do not make it dirty
    (tmp_path / "f.txt").write_text("two")
    assert git_commit(tmp_path) == f"{head}-dirty"


def test_code_digest_is_an_md5_of_the_package_stable_across_calls():
    digest = code_digest()
    assert re.fullmatch(r"[0-9a-f]{32}", digest) and digest == code_digest()
