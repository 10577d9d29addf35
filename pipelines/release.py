"""DVC stage ``release``: input perturbation's continual noisy release in ``ip`` mode (else a note)."""

from dagster_report import report  # pipelines/, beside this script

from dpforecast.runtime.project import lineage, load_project
from dpforecast.runtime.stage_main import run_stage
from dpforecast.stages.release import release, release_line


def main() -> None:
    paths, params = load_project()
    meta = release(paths, params, data_version=lineage(paths, params).get("data.dvc_md5", ""))
    print(release_line(meta, params.privacy.mode))


if __name__ == "__main__":
    run_stage("release", main)
    report("release")  # to the Dagster instance: the UI shows what dvc built
