"""DVC stage ``release``: input perturbation's noisy series in ``ip`` mode (else a note)."""

from dpforecast.interrupts import sigterm_as_interrupt
from dpforecast.project import lineage, load_project
from dpforecast.stages.release import release

if __name__ == "__main__":
    with sigterm_as_interrupt():
        paths, params = load_project()
        meta = release(paths, params, data_version=lineage(paths, params).get("data.dvc_md5", ""))
        print(f"release: {meta.get('mechanism', 'none')} (private: {meta.get('private', True)})")
