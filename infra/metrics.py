"""What the alarms and the dashboard read: AWS's failure metrics and the pipeline's own data metrics."""

from __future__ import annotations

from infra.notifications import POWERTOOLS_SERVICE_NAME

# The period of the failure metrics, on their alarms and their graphs alike.
ALARM_PERIOD_SECONDS = 300
# Failures of the state machine, which always ends FAILED after its own failure notification.
STATE_MACHINE_FAILURE_METRICS = ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted")
LAMBDA_FAILURE_METRICS = ("Errors", "Throttles")

# The data metrics, in METRICS_NAMESPACE with the dimension STACK_DIMENSION = the stack's resource prefix.
# Published by glue_jobs/curate_facilities.py (EMF lines on the job's stdout) and by the notifier (Powertools
# Metrics, which adds its `service` dimension); tests/infra/test_metrics_contract.py reads both sides.
STACK_DIMENSION = "Stack"
TIER_DIMENSION = "Tier"
NOTIFIER_SERVICE_DIMENSION = "service"
CURATION_COUNTS = (
    "InputLines",
    "CuratedFacilities",
    "QuarantinedLines",
    "DataQualityIssues",
    "UnknownFields",
)
QUARANTINE_RATIO = "QuarantineRatio"
SNAPSHOT_FACILITIES = "SnapshotFacilities"
NOTIFIER_COUNTS = ("ExpiringAccreditations", "LapsedAccreditations")
# Lapsed accreditations are listed in the critical digest, so its change counts carry the newly lapsed ones.
NEWLY_LAPSED = ("NewlyLapsedAlerts", "critical")
TIER_COUNTS = ("Alerts", "NewAlerts", "EscalatedAlerts")


def curation_dimensions(stack: str) -> dict[str, str]:
    return {STACK_DIMENSION: stack}


def notifier_dimensions(stack: str, tier: str | None = None) -> dict[str, str]:
    dimensions = {STACK_DIMENSION: stack, NOTIFIER_SERVICE_DIMENSION: POWERTOOLS_SERVICE_NAME}
    return {**dimensions, TIER_DIMENSION: tier} if tier else dimensions
