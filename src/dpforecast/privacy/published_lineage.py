"""What a private run may say about its data: keyed digests, never raw-data hashes.

A hash of the raw file lets whoever guesses the data confirm the guess, and before the noise
was secret it seeded the noise itself. A private run (``privacy.mode`` ip or gp) therefore
publishes, in MLflow tags, model descriptions and bundles, an HMAC of the data version
under the data owner's key (the owner can still match it to ``data.dvc``), or nothing
without a key. A non-private run keeps the plain hashes: it publishes the raw data's
statistics anyway.
"""

from __future__ import annotations

import hashlib
import hmac

from dpforecast.privacy.randomness import PrivacyKey

#: Lineage tags that are hashes of raw (or raw-derived) data.
RAW_HASH_TAGS = ("data.file_md5", "data.dvc_md5")
WITHHELD = "withheld (private run without an owner key)"


def keyed_digest(key: PrivacyKey | None, value: str) -> str:
    """HMAC-SHA256 of ``value`` under the owner's key (32 hex digits), or :data:`WITHHELD`."""
    if key is None or not value:
        return WITHHELD
    return hmac.new(key.material, b"lineage\0" + value.encode(), hashlib.sha256).hexdigest()[:32]


def published_lineage(lineage: dict[str, str], private: bool, key: PrivacyKey | None) -> dict[str, str]:
    """``lineage`` as a run of this privacy may publish it."""
    if not private:
        return dict(lineage)
    out = {k: v for k, v in lineage.items() if k not in RAW_HASH_TAGS}
    out["data.keyed_version"] = keyed_digest(key, lineage.get("data.dvc_md5", "") or lineage.get("data.file_md5", ""))
    return out


def data_digest(md5: str, private: bool, key: PrivacyKey | None) -> str:
    """A derived file's md5 as a run of this privacy may publish it (e.g. the feature table's,
    which under DP-SGD is the raw data's)."""
    return keyed_digest(key, md5) if private else md5


def matching_version(dvc_files: list[str], keyed: str, key: PrivacyKey | None) -> str | None:
    """The ``data.dvc`` text (of ``dvc_files``, newest first) whose data version has the keyed
    digest ``keyed`` under ``key``: how the owner finds what a private model trained on."""
    import yaml

    for text in dvc_files:
        outs = (yaml.safe_load(text) or {}).get("outs") or [{}]
        if key is not None and keyed_digest(key, str(outs[0].get("md5", ""))) == keyed:
            return text
    return None
