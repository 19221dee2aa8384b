"""Where the tasks find the results they pass on, as intrinsic expressions over the state data."""

from __future__ import annotations

from pipeline.layout import production_prefix
from pipeline.stages import NOTIFY_ALERTS, Stage, StageKind
from pipeline.state_machine.names import NOTIFIER_OUTPUT_PREFIX_FORMAT, stage_result_path
from pipeline.state_machine.targets import StateMachineTargets


def production_location(targets: StateMachineTargets) -> str:
    """`s3://<production bucket>/as_of=<as-of>/`, the run's results folder."""
    return f"States.Format('s3://{targets.production_bucket}/{production_prefix('{}')}', $.as_of)"


def notifier_output(targets: StateMachineTargets, file_name: str, *, scheme: str) -> str:
    """One of the notifier's files in the athena-results bucket, in the run's own folder."""
    location = f"{scheme}{targets.athena_results_bucket}/{NOTIFIER_OUTPUT_PREFIX_FORMAT}{file_name}"
    return f"States.Format('{location}', $.run_id)"


def query_result(targets: StateMachineTargets, stage: Stage, *, scheme: str) -> str:
    """Where Athena wrote a query stage's CSV, as an intrinsic: `<output location><query id>.csv`.

    The workgroup enforces its output location, and Athena names a query's result file after the
    query ("Working with query results": QueryID.csv under the query result location).
    """
    if stage.kind is not StageKind.ATHENA_QUERY:
        raise ValueError(f"no known location for the result of stage {stage.name}")
    query_id = f"{stage_result_path(stage)}.query_execution_id"
    location = f"{scheme}{targets.athena_results_bucket}/{targets.athena_results_prefix}"
    return f"States.Format('{location}{{}}.csv', {query_id})"


def copy_source(targets: StateMachineTargets, stage: Stage, file_name: str) -> str:
    """`bucket/key` of one of a stage's files in the athena-results bucket, as an intrinsic."""
    if stage is NOTIFY_ALERTS:
        return notifier_output(targets, file_name, scheme="")
    return query_result(targets, stage, scheme="")
