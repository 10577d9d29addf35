"""New data and retraining: the ``incoming_data`` asset, its sensor and the daily schedule.

- ``incoming_data`` accepts the deliveries waiting in ``data.incoming`` (validated one by
  one, then as a continuation of the data) and ``dvc add``s the new data version. A
  refused delivery fails the asset, with the validation summary in the failure's
  metadata, so nothing downstream runs and the champion stays as it is.
- ``incoming_data_sensor`` launches ``full_pipeline`` when files appear there.
- ``daily_retraining`` launches it on ``retraining.cron`` (params.yaml), to retrain on
  whatever data there is and let the promotion rule decide.
Both start RUNNING: retraining happens without anyone watching, as long as the daemon
(``dagster dev`` starts one) runs.
"""

from pathlib import Path

import dagster as dg
from dagster_project.defs.resources import ProjectResource, default_root
from dpforecast.config import load_params


@dg.asset(group_name="data", kinds={"dvc", "csv"})
def incoming_data(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
    """Deliveries accepted into ``data.increments`` (and the DVC data version after them)."""
    from dpforecast.stages.accept import accept

    paths, params = project.load()
    result = accept(paths.root, params)
    for arrival in result.arrivals:
        context.log.info(arrival.message if arrival.accepted else f"refused: {arrival.message}")
    if result.refused:
        bad = result.refused[0]
        raise dg.Failure(
            description=f"delivery refused, retraining blocked: {bad.message}",
            metadata={
                "refused": dg.MetadataValue.text(bad.name),
                "report": dg.MetadataValue.md(bad.report.read_text() if bad.report else bad.message),
                "accepted_before": dg.MetadataValue.int(len(result.accepted)),
            },
        )
    if result.accepted and not result.versioned:
        context.log.warning(f"{paths.root} is not a DVC repository: the accepted data has no DVC version")
    return dg.MaterializeResult(
        metadata={
            "accepted": dg.MetadataValue.int(len(result.accepted)),
            "files": dg.MetadataValue.text(", ".join(a.name for a in result.accepted) or "none"),
            "data_version": dg.MetadataValue.text(result.data_version or "unversioned"),
        }
    )


@dg.sensor(job_name="full_pipeline", minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def incoming_data_sensor(context: dg.SensorEvaluationContext, project: ProjectResource) -> dg.SensorResult | dg.SkipReason:
    """One run per new set of files in ``data.incoming`` (a file's name, size and time make its key)."""
    from dpforecast.data.arrivals import pending

    paths, params = project.load()
    files = pending(paths.root, params)
    if not files:
        return dg.SkipReason(f"no delivery in {paths.root / params.data.incoming}")
    key = "|".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=key, tags={"dpforecast/trigger": "incoming-data"})])


_params = load_params(Path(default_root()) / "params.yaml")

daily_retraining = dg.ScheduleDefinition(
    name="daily_retraining",
    job_name="full_pipeline",
    cron_schedule=_params.retraining.cron,
    execution_timezone=_params.data_set.timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={"dpforecast/trigger": "schedule"},
    description="Retrain on the latest accepted data; the promotion rule decides the champion.",
)
