"""Typed stack settings, read once from the Pulumi config of the current stack."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi

from pipeline.settings import DEFAULT_ALERT_POLICY, DEFAULT_CURATION_POLICY, AlertPolicy, CurationPolicy
from pipeline.sizing import DEFAULT_SIZING

ALERT_TIERS = ("critical", "high", "medium")
STATUS_TOPIC = "status"
TOPICS = (*ALERT_TIERS, STATUS_TOPIC)
# The CloudWatch namespace of the pipeline's own data metrics: the Glue job and the notifier receive it from
# the stack (a job argument, an environment variable) and the alarms read it, so it is written here only.
METRICS_NAMESPACE = "HealthcareAccreditation"
# PutMetricAlarm: "Period multiplied by EvaluationPeriods can't be more than 604,800 seconds" (7 days).
MAX_ALARM_EVALUATION_HOURS = 604_800 // 3600
# The missing-run alarm fires when no execution has succeeded for this many hours (daily runs plus slack).
DEFAULT_MISSING_RUN_ALARM_HOURS = 26

GLUE_WORKER_TYPES = ("G.1X", "G.2X", "G.4X", "G.8X", "G.025X")
# AWS Glue Flex runs only on these worker types.
FLEX_WORKER_TYPES = ("G.1X", "G.2X")
# The only values CloudWatch Logs accepts for retention_in_days.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# S3 refuses a STANDARD_IA transition earlier than this many days after creation.
MIN_STANDARD_IA_DAYS = 30
# Longest zone suffix of a bucket name ("athena-results") plus "-<12-digit account>-": keeps names <= 63.
_BUCKET_NAME_OVERHEAD = len("-athena-results-") + 12 + 1
_NAME_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
_STATE_CODE = re.compile(r"^[A-Z]{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class EmailSubscription:
    """One e-mail endpoint on one topic; `state` set means it only wants that state's alerts."""

    topic: str
    email: str
    state: str | None = None


@dataclass(frozen=True)
class GlueJobSettings:
    worker_type: str = DEFAULT_SIZING.glue_worker_type
    number_of_workers: int = DEFAULT_SIZING.glue_workers
    flex: bool = DEFAULT_SIZING.glue_flex
    timeout_minutes: int = DEFAULT_SIZING.glue_timeout_minutes


@dataclass(frozen=True)
class NotifierSettings:
    memory_mb: int = DEFAULT_SIZING.notifier_memory_mb
    timeout_seconds: int = DEFAULT_SIZING.notifier_timeout_seconds
    log_level: str = "INFO"
    # False: a digest with nothing new, escalated, newly lapsed or resolved is not sent that run.
    send_unchanged_digests: bool = True


@dataclass(frozen=True)
class RetentionSettings:
    log_days: int = 30
    access_log_days: int = 365
    athena_results_days: int = 30
    quarantine_days: int = 90
    snapshot_transition_days: int = 30
    snapshot_expiry_days: int = 365
    noncurrent_version_days: int = 30


@dataclass(frozen=True)
class StackSettings:
    """Everything a stack may change; components receive slices of it as args."""

    stack: str
    region: str
    name_prefix: str
    alert_policy: AlertPolicy = DEFAULT_ALERT_POLICY
    curation_policy: CurationPolicy = DEFAULT_CURATION_POLICY
    subscriptions: tuple[EmailSubscription, ...] = ()
    schedule_expression: str = "cron(0 6 * * ? *)"
    schedule_timezone: str = "UTC"
    arrival_batch_window_seconds: int = DEFAULT_SIZING.arrival_batch_window_seconds
    missing_run_alarm_hours: int = DEFAULT_MISSING_RUN_ALARM_HOURS
    glue: GlueJobSettings = GlueJobSettings()
    notifier: NotifierSettings = NotifierSettings()
    retention: RetentionSettings = RetentionSettings()
    athena_bytes_scanned_cutoff: int = 1_073_741_824
    force_destroy_data: bool = False
    # Account- and region-wide: every Glue and Athena user of the account then needs the stack's key.
    manage_catalog_encryption: bool = False

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def resource_prefix(self) -> str:
        """Lowercase `<prefix>-<stack>`: the start of every physical name, so two stacks never collide."""
        return f"{self.name_prefix}-{self.stack}"

    @property
    def glue_database_name(self) -> str:
        # Athena wants identifiers without hyphens.
        return self.resource_prefix.replace("-", "_")

    @property
    def athena_workgroup_name(self) -> str:
        return self.resource_prefix

    @property
    def state_digest_states(self) -> tuple[str, ...]:
        """States with at least one per-state subscriber: the notifier publishes a digest for each."""
        return tuple(sorted({s.state for s in self.subscriptions if s.state}))


def _validate(settings: StackSettings) -> None:
    if not _NAME_PREFIX.match(settings.name_prefix):
        raise ValueError(f"namePrefix must be lowercase [a-z0-9-], 1-20 chars, got {settings.name_prefix!r}")
    if not _STACK_NAME.match(settings.stack):
        raise ValueError(f"stack name must be lowercase [a-z0-9-], 1-16 chars, got {settings.stack!r}")
    if len(settings.resource_prefix) + _BUCKET_NAME_OVERHEAD > 63:
        raise ValueError("namePrefix plus stack name too long for S3 bucket names (63 chars)")
    glue = settings.glue
    if glue.worker_type not in GLUE_WORKER_TYPES:
        raise ValueError(f"glueWorkerType must be one of {GLUE_WORKER_TYPES}, got {glue.worker_type!r}")
    if glue.flex and glue.worker_type not in FLEX_WORKER_TYPES:
        raise ValueError(f"glueFlex needs glueWorkerType in {FLEX_WORKER_TYPES}, got {glue.worker_type!r}")
    if glue.number_of_workers < 2:
        raise ValueError("glueNumberOfWorkers must be at least 2 (one driver, one executor)")
    if not 1 <= glue.timeout_minutes <= 2880:
        raise ValueError("glueTimeoutMinutes must be within 1..2880")
    notifier = settings.notifier
    if not 128 <= notifier.memory_mb <= 10240 or not 1 <= notifier.timeout_seconds <= 900:
        raise ValueError("notifierMemoryMb must be 128..10240 and notifierTimeoutSeconds 1..900")
    retention = settings.retention
    if retention.log_days not in LOG_RETENTION_DAYS:
        raise ValueError(f"logRetentionDays must be one of {LOG_RETENTION_DAYS}, got {retention.log_days}")
    if retention.snapshot_transition_days < MIN_STANDARD_IA_DAYS:
        raise ValueError(f"snapshotTransitionDays must be at least {MIN_STANDARD_IA_DAYS}")
    if retention.snapshot_expiry_days <= retention.snapshot_transition_days:
        raise ValueError("snapshotExpiryDays must be greater than snapshotTransitionDays")
    for name, days in vars(retention).items():
        if days < 1:
            raise ValueError(f"retention {name} must be at least 1 day")
    if settings.athena_bytes_scanned_cutoff < 10_485_760:
        raise ValueError("athenaBytesScannedCutoff must be at least 10 MB (Athena's minimum)")
    if settings.arrival_batch_window_seconds < 0:
        raise ValueError("arrivalBatchWindowSeconds must not be negative")
    if not 1 <= settings.missing_run_alarm_hours <= MAX_ALARM_EVALUATION_HOURS:
        raise ValueError(
            f"missingRunAlarmHours must be within 1..{MAX_ALARM_EVALUATION_HOURS} (CloudWatch evaluates an "
            f"alarm over at most 7 days), got {settings.missing_run_alarm_hours}"
        )
    for subscription in settings.subscriptions:
        if subscription.topic not in TOPICS:
            raise ValueError(f"unknown topic {subscription.topic!r}; expected one of {TOPICS}")
        if not _EMAIL.match(subscription.email):
            raise ValueError(f"not an e-mail address: {subscription.email!r}")
        if subscription.state is not None and (
            subscription.topic not in ALERT_TIERS or not _STATE_CODE.match(subscription.state)
        ):
            raise ValueError(
                f"per-state subscription needs an alert tier and a 2-letter state: {subscription}"
            )
    _refuse_second_subscriptions(settings.subscriptions)


def _config_place(subscription: EmailSubscription) -> str:
    return f"stateAlertEmails.{subscription.state}" if subscription.state else "alertEmails"


def _refuse_second_subscriptions(subscriptions: tuple[EmailSubscription, ...]) -> None:
    """SNS keeps one subscription (one filter policy) per topic and address: a second Subscribe of the same
    address with other attributes fails ("Subscription already exists with different attributes")."""
    first: dict[tuple[str, str], EmailSubscription] = {}
    for subscription in subscriptions:
        key = (subscription.topic, subscription.email.lower())
        if key in first:
            raise ValueError(
                f"{subscription.email} is subscribed twice to the {subscription.topic} topic "
                f"({_config_place(first[key])} and {_config_place(subscription)}); SNS allows one "
                "subscription per address and topic: keep one of them"
            )
        first[key] = subscription


def _subscriptions(alert_emails: dict, state_alert_emails: dict) -> tuple[EmailSubscription, ...]:
    subscriptions = [
        EmailSubscription(topic=topic, email=email)
        for topic, emails in alert_emails.items()
        for email in emails
    ]
    subscriptions += [
        EmailSubscription(topic=topic, email=email, state=state.upper())
        for state, tiers in state_alert_emails.items()
        for topic, emails in tiers.items()
        for email in emails
    ]
    return tuple(subscriptions)


def load_settings() -> StackSettings:
    """Read the current stack's config (Pulumi.<stack>.yaml); the only place that calls pulumi.Config."""
    config = pulumi.Config()
    alert_defaults = DEFAULT_ALERT_POLICY
    glue_defaults = GlueJobSettings()
    notifier_defaults = NotifierSettings()
    retention_defaults = RetentionSettings()
    defaults = _DEFAULT_STACK
    return StackSettings(
        stack=pulumi.get_stack().lower(),
        region=pulumi.Config("aws").require("region"),
        name_prefix=config.require("namePrefix").lower(),
        alert_policy=AlertPolicy(
            expiring_window_months=_int(
                config, "expiringWindowMonths", alert_defaults.expiring_window_months
            ),
            critical_max_days=_int(config, "criticalMaxDays", alert_defaults.critical_max_days),
            high_max_days=_int(config, "highMaxDays", alert_defaults.high_max_days),
            medium_max_days=_int(config, "mediumMaxDays", alert_defaults.medium_max_days),
        ),
        curation_policy=CurationPolicy(
            max_rejected_ratio=_float(config, "maxRejectedRatio", DEFAULT_CURATION_POLICY.max_rejected_ratio)
        ),
        subscriptions=_subscriptions(
            config.get_object("alertEmails") or {}, config.get_object("stateAlertEmails") or {}
        ),
        schedule_expression=config.get("scheduleExpression") or defaults.schedule_expression,
        schedule_timezone=config.get("scheduleTimezone") or defaults.schedule_timezone,
        arrival_batch_window_seconds=_int(
            config, "arrivalBatchWindowSeconds", defaults.arrival_batch_window_seconds
        ),
        missing_run_alarm_hours=_int(config, "missingRunAlarmHours", defaults.missing_run_alarm_hours),
        glue=GlueJobSettings(
            worker_type=config.get("glueWorkerType") or glue_defaults.worker_type,
            number_of_workers=_int(config, "glueNumberOfWorkers", glue_defaults.number_of_workers),
            flex=_bool(config, "glueFlex", glue_defaults.flex),
            timeout_minutes=_int(config, "glueTimeoutMinutes", glue_defaults.timeout_minutes),
        ),
        notifier=NotifierSettings(
            memory_mb=_int(config, "notifierMemoryMb", notifier_defaults.memory_mb),
            timeout_seconds=_int(config, "notifierTimeoutSeconds", notifier_defaults.timeout_seconds),
            log_level=config.get("notifierLogLevel") or notifier_defaults.log_level,
            send_unchanged_digests=_bool(
                config, "sendUnchangedDigests", notifier_defaults.send_unchanged_digests
            ),
        ),
        retention=RetentionSettings(
            log_days=_int(config, "logRetentionDays", retention_defaults.log_days),
            access_log_days=_int(config, "accessLogRetentionDays", retention_defaults.access_log_days),
            athena_results_days=_int(
                config, "athenaResultsRetentionDays", retention_defaults.athena_results_days
            ),
            quarantine_days=_int(config, "quarantineRetentionDays", retention_defaults.quarantine_days),
            snapshot_transition_days=_int(
                config, "snapshotTransitionDays", retention_defaults.snapshot_transition_days
            ),
            snapshot_expiry_days=_int(config, "snapshotExpiryDays", retention_defaults.snapshot_expiry_days),
            noncurrent_version_days=_int(
                config, "noncurrentVersionRetentionDays", retention_defaults.noncurrent_version_days
            ),
        ),
        athena_bytes_scanned_cutoff=_int(
            config, "athenaBytesScannedCutoff", defaults.athena_bytes_scanned_cutoff
        ),
        force_destroy_data=_bool(config, "forceDestroyData", defaults.force_destroy_data),
        manage_catalog_encryption=_bool(
            config, "manageCatalogEncryption", defaults.manage_catalog_encryption
        ),
    )


_DEFAULT_STACK = StackSettings(stack="defaults", region="us-east-1", name_prefix="defaults")


def _int(config: pulumi.Config, key: str, default: int) -> int:
    value = config.get_int(key)
    return default if value is None else value


def _float(config: pulumi.Config, key: str, default: float) -> float:
    value = config.get_float(key)
    return default if value is None else value


def _bool(config: pulumi.Config, key: str, default: bool) -> bool:
    value = config.get_bool(key)
    return default if value is None else value
