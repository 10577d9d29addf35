"""A private run's lineage: keyed digests instead of raw hashes, and the owner finds the version again."""

from __future__ import annotations

from dpforecast.privacy.published_lineage import (
    WITHHELD,
    data_digest,
    keyed_digest,
    matching_version,
    published_lineage,
)
from dpforecast.privacy.randomness import PrivacyKey

KEY = PrivacyKey(bytes(range(32)), "test")
LINEAGE = {"data.file_md5": "a" * 32, "data.dvc_md5": "b" * 32 + ".dir", "git_commit": "c1", "dataset": "montreuil"}


def _dvc(md5: str) -> str:
    return f"outs:\n- md5: {md5}\n  path: data\n"


def test_a_private_run_publishes_a_keyed_digest_and_no_raw_hash() -> None:
    out = published_lineage(LINEAGE, private=True, key=KEY)
    assert "data.file_md5" not in out and "data.dvc_md5" not in out
    assert out["data.keyed_version"] == keyed_digest(KEY, LINEAGE["data.dvc_md5"])
    assert LINEAGE["data.dvc_md5"][:8] not in out["data.keyed_version"]
    assert out["git_commit"] == "c1"
    assert published_lineage(LINEAGE, private=True, key=None)["data.keyed_version"] == WITHHELD
    assert published_lineage(LINEAGE, private=False, key=KEY) == LINEAGE
    assert data_digest("f" * 32, private=False, key=KEY) == "f" * 32
    assert data_digest("f" * 32, private=True, key=KEY) != "f" * 32


def test_the_owner_finds_the_version_only_with_the_key() -> None:
    versions = [_dvc("new.dir"), _dvc("old.dir")]
    keyed = keyed_digest(KEY, "old.dir")
    assert matching_version(versions, keyed, KEY) == versions[1]
    assert matching_version(versions, keyed, PrivacyKey(bytes(range(1, 33)), "other")) is None
    assert matching_version(versions, keyed, None) is None
