"""A new data set from its file: the file under ``data/<name>/``, a drafted spec in
``datasets/<name>.yaml``, and the file validated against it.

What ``dpforecast datasets add NAME FILE`` runs. The spec is drafted from the file
(:func:`dpforecast.data.spec_draft.draft_spec`) and validated like any other, so a user
starts from a spec that reads their file, or from the validation message saying which
key to change, instead of from an empty page.
"""

from __future__ import annotations

import filecmp
import shutil
from dataclasses import dataclass
from pathlib import Path

from dpforecast.config import Params, load_params, resolve
from dpforecast.data.spec import DATASET_NAME, dataset_path, load_spec
from dpforecast.data.spec_draft import SpecDraft, draft_spec
from dpforecast.errors import ConfigError
from dpforecast.runtime.io import write_with
from dpforecast.validation import ValidationReport, validate_csv


@dataclass(frozen=True)
class AddedDataset:
    """The spec written, the data file it reads (a copy under ``data/<name>/`` when the
    file was elsewhere), the draft's inferences and the validation of the file."""

    spec_path: Path
    data_path: Path
    copied: bool
    draft: SpecDraft
    report: ValidationReport
    registered_model: str

    def text(self, root: Path) -> str:
        """What was inferred, the validation's verdict, and the next commands."""
        spec, data = self.spec_path.relative_to(root), self.data_path.relative_to(root.resolve())
        name = self.draft.name
        width = max(len(f.key) for f in self.draft.findings)
        lines = [f"{spec}: drafted from {data}{' (a copy of the file given)' if self.copied else ''}; what it read:"]
        lines += [f"  {f.key:<{width}}  {f.value}: {f.why}" for f in self.draft.findings]
        if self.draft.clock.kind == "local":
            lines.append(f"  {'':<{width}}  the file follows the local clock: the spec declares interval_clock: local")
        if self.report.passed:
            lines.append(f"validation: {data} is valid against it ({self.report.rows} rows, "
                         f"{len(self.report.results)} expectations met)")
        else:
            lines += ["validation: the file does not pass yet; edit the spec where it is wrong:", self.report.message()]
        lines += ["next (edit the spec first where a value above is wrong; CHECK lines always; every key: "
                  "docs/reference.md):",
                  f"  .venv/bin/dpforecast validate {data} --dataset {name}",
                  f"  .venv/bin/dvc add data && .venv/bin/dvc exp run -S dataset={name}",
                  f"  .venv/bin/dpforecast predict --model models:/{self.registered_model}@champion --input {data}"]
        return "\n".join(lines)


def _destination(root: Path, name: str, file: Path) -> Path:
    """Where the file lives in the project: where it is, inside ``data/`` (tracked by DVC
    with the rest), else ``data/<name>/``, never over another file."""
    file, data = file.resolve(), (root / "data").resolve()
    if file.is_relative_to(data):
        return file
    target = data / name / file.name
    if target.exists() and not filecmp.cmp(file, target, shallow=False):
        raise ConfigError(f"{target}: already exists; move {file} there yourself, or give that file")
    return target


def add_dataset(root: Path, name: str, file: Path, replace: bool = False) -> AddedDataset:
    """Draft ``datasets/<name>.yaml`` under ``root`` from ``file``, write it, and validate
    the file against it (with the project's ``params.yaml`` where there is one)."""
    if not DATASET_NAME.fullmatch(name):
        raise ConfigError(f"datasets add: {name!r} is not a data set name: a lower-case letter, then lower-case "
                          f"letters, digits, - and _ (48 at most)")
    spec_path = dataset_path(root, name)
    if spec_path.exists() and not replace:
        raise ConfigError(f"{spec_path}: data set {name!r} exists; edit it, or pass --replace to draft it again")
    if not Path(file).is_file():
        raise ConfigError(f"datasets add: {file}: no such file")
    data_path = _destination(root, name, Path(file))
    copied = not data_path.exists()
    draft = draft_spec(Path(file), name, data_path.relative_to(root.resolve()).as_posix())  # before any write
    if copied:
        data_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, data_path)
    write_with(spec_path, lambda tmp: tmp.write_text(draft.text, encoding="utf-8"))
    spec = load_spec(spec_path)
    params_file = root / "params.yaml"
    params = load_params(params_file, dataset=name) if params_file.is_file() else resolve(Params(dataset=name), spec)
    return AddedDataset(spec_path, data_path, copied, draft, validate_csv(data_path, params),
                        f"{params.model_prefix()}-bigru")
