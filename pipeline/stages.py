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
    RUN_REPORT = "run_report"  # the run report Lambda: report.html beside the published results
    REPORT = "report"  # success notification on the status topic


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    kind: StageKind
    sql_file: str | None = None
    # File name under production/as_of=YYYY-MM-DD/ for stages that produce a result.
    result_file: str | None = None
    # Further files the stage writes beside result_file, published with it.
    companion_files: tuple[str, ...] = ()
    # Names of the ExecutionParameters, in the order of the `?` marks of sql_file.
    parameters: tuple[str, ...] = ()

    @property
    def published_files(self) -> tuple[str, ...]:
        """Every file of the stage that goes to production, result_file first."""
        return (self.result_file, *self.companion_files) if self.result_file else ()


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
    companion_files=("resolved_accreditations.csv",),
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
RUN_REPORT = Stage("run_report", "Run report (report.html)", StageKind.RUN_REPORT)
REPORT_SUCCESS = Stage("report_success", "Success notification", StageKind.REPORT)

# Waves run one after another; the stages of one wave are independent of each other
# (the state machine runs them as branches of a Parallel state, the local runner in order).
PIPELINE_WAVES: tuple[tuple[Stage, ...], ...] = (
    (CURATE,),
    (CATALOG,),
    (FACILITY_METRICS, EXPIRING_ACCREDITATIONS, LAPSED_ACCREDITATIONS),
    (NOTIFY_ALERTS, FACILITIES_BY_STATE),
    (PUBLISH_RESULTS,),
    (RUN_REPORT,),
    (REPORT_SUCCESS,),
)

PIPELINE_STAGES: tuple[Stage, ...] = tuple(stage for wave in PIPELINE_WAVES for stage in wave)
QUERY_STAGES: tuple[Stage, ...] = tuple(s for s in PIPELINE_STAGES if s.kind is StageKind.ATHENA_QUERY)
RESULT_STAGES: tuple[Stage, ...] = tuple(s for s in PIPELINE_STAGES if s.result_file)
# (stage, file name) of every file published to production/as_of=YYYY-MM-DD/ and latest/.
PUBLISHED_FILES: tuple[tuple[Stage, str], ...] = tuple(
    (stage, name) for stage in RESULT_STAGES for name in stage.published_files
)
