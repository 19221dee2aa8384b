"""The single, ordered definition of the stages; the local runner and the state machine both follow it."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class StageKind(enum.Enum):
    CURATE = "curate"  # Glue job: raw NDJSON -> curated Parquet snapshot
    CATALOG = "catalog"  # crawler when the job asks for it, else nothing to do
    ATHENA_QUERY = "athena_query"  # one file of sql/, run with ExecutionParameters
    NOTIFY = "notify"  # the notifier Lambda (stage 3)
    PUBLISH = "publish"  # copy results to the production location
    REPORT = "report"  # success notification on the status topic


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    kind: StageKind
    sql_file: str | None = None
    # File name under production/as_of=YYYY-MM-DD/ for stages that produce a result.
    result_file: str | None = None
    # Names of the ExecutionParameters, in the order of the `?` marks of sql_file.
    parameters: tuple[str, ...] = ()


CURATE = Stage("curate", "Glue job: curate raw NDJSON", StageKind.CURATE)
CATALOG = Stage("catalog", "Glue crawler (first run or schema change)", StageKind.CATALOG)
FACILITY_METRICS = Stage(
    "facility_metrics",
    "Stage 1: per-facility metrics",
    StageKind.ATHENA_QUERY,
    sql_file="stage1_facility_metrics.sql",
    result_file="facility_metrics.csv",
    parameters=("snapshot_date",),
)
EXPIRING_ACCREDITATIONS = Stage(
    "expiring_accreditations",
    "Stage 2: accreditations expiring within the window",
    StageKind.ATHENA_QUERY,
    sql_file="stage2_expiring_accreditations.sql",
    result_file="expiring_accreditations.csv",
    parameters=("snapshot_date", "expiring_window_months"),
)
LAPSED_ACCREDITATIONS = Stage(
    "lapsed_accreditations",
    "Lapsed accreditations (no renewal from the same body)",
    StageKind.ATHENA_QUERY,
    sql_file="lapsed_accreditations.sql",
    result_file="lapsed_accreditations.csv",
    parameters=("snapshot_date",),
)
NOTIFY_ALERTS = Stage(
    "notify_alerts",
    "Stage 3: tiered alert digests",
    StageKind.NOTIFY,
    result_file="accreditation_alerts.csv",
)
FACILITIES_BY_STATE = Stage(
    "facilities_by_state",
    "Stage 4: facilities per state",
    StageKind.ATHENA_QUERY,
    sql_file="stage4_facilities_by_state.sql",
    result_file="facilities_by_state.csv",
    parameters=("snapshot_date",),
)
PUBLISH_RESULTS = Stage("publish_results", "Copy results to production", StageKind.PUBLISH)
REPORT_SUCCESS = Stage("report_success", "Success notification", StageKind.REPORT)

# Waves run one after another; the stages of one wave are independent of each other
# (the state machine runs them as branches of a Parallel state, the local runner in order).
PIPELINE_WAVES: tuple[tuple[Stage, ...], ...] = (
    (CURATE,),
    (CATALOG,),
    (FACILITY_METRICS, EXPIRING_ACCREDITATIONS, LAPSED_ACCREDITATIONS),
    (NOTIFY_ALERTS, FACILITIES_BY_STATE),
    (PUBLISH_RESULTS,),
    (REPORT_SUCCESS,),
)

PIPELINE_STAGES: tuple[Stage, ...] = tuple(stage for wave in PIPELINE_WAVES for stage in wave)
QUERY_STAGES: tuple[Stage, ...] = tuple(s for s in PIPELINE_STAGES if s.kind is StageKind.ATHENA_QUERY)
RESULT_STAGES: tuple[Stage, ...] = tuple(s for s in PIPELINE_STAGES if s.result_file)
