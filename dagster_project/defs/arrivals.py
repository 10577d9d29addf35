"""New data and retraining: the ``incoming_data`` asset, its sensor and the daily schedule,
one of each per data set's graph (:mod:`scope`).

- ``incoming_data`` accepts the deliveries waiting in the spec's ``files.incoming``
  (validated one by one, then as a continuation of the data) and ``dvc add``s the new data
  version. A refused delivery fails the asset, with the validation summary in the
  failure's metadata, so nothing downstream runs and the champion stays as it is.
- ``incoming_data_sensor`` launches the data set's pipeline job when files appear there.
- ``daily_retraining`` launches it on ``retraining.cron`` (params.yaml), in the data set's
  time zone, to retrain on whatever data there is and let the promotion rule decide.
- Before requesting a run, both estimate what the private retraining would charge the data
  set's privacy ledger and check it without writing (:mod:`budget`): over budget, the
  sensor's run accepts the deliveries and leaves the private part out (the refusal in its
  tags and the tick's log), and the schedule is skipped with the refusal as its SkipReason.
Both start RUNNING: retraining happens without anyone watching, as long as the daemon
(``dagster dev`` starts one) runs. Another data set's are ``<name>_incoming_data_sensor``
and ``<name>_daily_retraining``, launching ``<name>_full_pipeline``.
"""

from pathlib import Path

import dagster as dg

from dagster_project.defs.budget import retraining_request
from dagster_project.defs.resources import ProjectResource, default_root
from dagster_project.defs.scope import PROJECT, Scope
from dpforecast.config import load_params

JOB = "full_pipeline"


def incoming_asset(scope: Scope) -> dg.AssetsDefinition:
    @dg.asset(key=scope.key("incoming_data"), group_name=scope.group("data"), kinds={"dvc", "csv"})
    def incoming_data(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
        """Deliveries accepted into ``files.increments`` (and the DVC data version after them)."""
        from dpforecast.stages.accept import accept

        paths, params = project.load(scope.dataset)
        result = accept(paths.sources, params)
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
            context.log.warning(f"{paths.sources} is not a DVC repository: the accepted data has no DVC version")
        return dg.MaterializeResult(
            metadata={
                "dataset": dg.MetadataValue.text(params.dataset),
                "accepted": dg.MetadataValue.int(len(result.accepted)),
                "files": dg.MetadataValue.text(", ".join(a.name for a in result.accepted) or "none"),
                "data_version": dg.MetadataValue.text(result.data_version or "unversioned"),
            }
        )

    return incoming_data


def incoming_sensor(scope: Scope) -> dg.SensorDefinition:
    @dg.sensor(name=scope.name("incoming_data_sensor"), job_name=scope.name(JOB), minimum_interval_seconds=30,
               default_status=dg.DefaultSensorStatus.RUNNING)
    def incoming_data_sensor(context: dg.SensorEvaluationContext, project: ProjectResource) -> dg.SensorResult | dg.SkipReason:
        """One run per new set of files in the data set's ``files.incoming`` (a file's name,
        size and time make its key). A private retraining the ledger cannot pay is left out of
        the run, which then accepts the files only (``budget.retraining_request``)."""
        from dpforecast.stages.arrivals import pending

        paths, params = project.load(scope.dataset)
        files = pending(paths.sources, params)
        if not files:
            return dg.SkipReason(f"no delivery in {paths.sources / params.data_set.incoming}")
        key = "|".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)
        request = retraining_request(scope, paths, params, context.log, run_key=key,
                                     tags={"dpforecast/trigger": "incoming-data"}, deliveries=True)
        if isinstance(request, dg.SkipReason):
            return request
        return dg.SensorResult(run_requests=[request])

    return incoming_data_sensor


def retraining_schedule(scope: Scope) -> dg.ScheduleDefinition:
    params = load_params(Path(default_root()) / "params.yaml", **({"dataset": scope.dataset} if scope.dataset else {}))

    @dg.schedule(
        name=scope.name("daily_retraining"),
        job_name=scope.name(JOB),
        cron_schedule=params.retraining.cron,
        execution_timezone=params.data_set.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Retrain on the latest accepted {params.dataset} data; the promotion rule decides the champion. "
                    f"Skipped (SkipReason: the ledger's refusal) when the private retraining would exceed the budget.",
    )
    def daily_retraining(context: dg.ScheduleEvaluationContext, project: ProjectResource) -> dg.RunRequest | dg.SkipReason:
        """The whole job, unless the ledger could not pay for the private retraining: then a
        ``SkipReason`` whose text is the refusal (deliveries are the sensor's, which runs the
        non-private part)."""
        paths, params = project.load(scope.dataset)
        return retraining_request(scope, paths, params, context.log, run_key=None,
                                  tags={"dpforecast/trigger": "schedule"}, deliveries=False)

    return daily_retraining


defs = dg.Definitions(assets=[incoming_asset(PROJECT)], sensors=[incoming_sensor(PROJECT)],
                      schedules=[retraining_schedule(PROJECT)])
