"""Typed contracts of the notifier: request, policy, the rows it reads and the ports it talks through."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import NamedTuple, Protocol, TextIO

# The shared kinds of error, re-exported (`X as X`) to the notifier's modules.
from accreditation_notifier.errors import ConfigurationError as ConfigurationError
from accreditation_notifier.errors import InputNotFoundError, InvocationError, MalformedInputError
from accreditation_notifier.errors import InvalidEventError as InvalidEventError
from accreditation_notifier.events import EventFields, as_folder
from accreditation_notifier.events import calendar_date as calendar_date

CRITICAL = "critical"
HIGH = "high"
MEDIUM = "medium"
PRIORITIES: tuple[str, ...] = (CRITICAL, HIGH, MEDIUM)

# Columns of the stage-2 (expiring) and lapsed results, as Athena writes them.
RESULT_COLUMNS: tuple[str, ...] = (
    "facility_id",
    "facility_name",
    "state",
    "accreditation_body",
    "accreditation_id",
    "valid_until",
    "days_until_expiry",
)
# Lapsed accreditations are alert rows too (priority critical, negative days), as in the critical digest;
# `change` is new, escalated, newly_lapsed or empty (see changes.py).
ALERTS_COLUMNS: tuple[str, ...] = (*RESULT_COLUMNS, "priority", "change")
ALERTS_FILE_NAME = "accreditation_alerts.csv"
RESOLVED_FILE_NAME = "resolved_accreditations.csv"
LAPSED_FILE_NAME = "lapsed_accreditations.csv"

# Message attribute names and values that SNS subscription filter policies match on.
SCOPE_ALL = "all"
SCOPE_STATE = "state"

# SNS Publish limits: the message plus its attributes, in UTF-8 bytes; the e-mail subject, in characters.
SNS_MAX_MESSAGE_BYTES = 262_144
SNS_MAX_SUBJECT_CHARS = 100


class ResultsNotFoundError(InputNotFoundError):
    """A results object named in the event does not exist."""


class MalformedResultsError(MalformedInputError):
    """A results file does not have the expected header or values."""


class DigestInProgressError(InvocationError):
    """Another invocation is publishing the same digest right now; retry later."""


_EVENT_LOCATIONS = ("expiring_results", "lapsed_results", "alerts_output", "production_location")


@dataclass(frozen=True)
class NotifierRequest:
    """One notifier run, as Step Functions (or the local runner) describes it."""

    as_of: dt.date
    run_id: str
    expiring_results: str
    lapsed_results: str
    alerts_output: str
    production_location: str

    @classmethod
    def from_event(cls, event: object) -> NotifierRequest:
        """Validate the event dict; every problem is reported at once, by field name."""
        fields = EventFields(event)
        values = fields.required_texts(("as_of", "run_id", *_EVENT_LOCATIONS))
        as_of = fields.calendar_date("as_of", values)
        fields.refuse_if_any("invalid notifier event: ")
        assert as_of is not None
        return cls(
            as_of=as_of,
            run_id=values["run_id"],
            expiring_results=values["expiring_results"],
            lapsed_results=values["lapsed_results"],
            alerts_output=values["alerts_output"],
            production_location=as_folder(values["production_location"]),
        )

    @property
    def locations(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in _EVENT_LOCATIONS}

    @property
    def production_alerts(self) -> str:
        return self.production_location + ALERTS_FILE_NAME

    @property
    def production_lapsed(self) -> str:
        return self.production_location + LAPSED_FILE_NAME

    @property
    def production_resolved(self) -> str:
        return self.production_location + RESOLVED_FILE_NAME

    @property
    def resolved_output(self) -> str:
        """Beside the alerts CSV: the resolved alerts, published to production with it."""
        return self.alerts_output.rsplit("/", 1)[0] + "/" + RESOLVED_FILE_NAME


class AlertTiers:
    """The alert tiers by days until expiry (the last day of each, inclusive), for the policy dataclasses
    of the notifier and the report, which declare the three bounds."""

    critical_max_days: int
    high_max_days: int
    medium_max_days: int

    def check_tier_bounds(self) -> None:
        if not 0 <= self.critical_max_days < self.high_max_days < self.medium_max_days:
            raise ConfigurationError(
                "tier bounds must satisfy 0 <= critical < high < medium, got "
                f"{self.critical_max_days}/{self.high_max_days}/{self.medium_max_days}"
            )

    def priority_of(self, days_until_expiry: int) -> str | None:
        """The alert tier of an expiring accreditation, or None when it is outside every tier."""
        if days_until_expiry < 0 or days_until_expiry > self.medium_max_days:
            return None
        if days_until_expiry <= self.critical_max_days:
            return CRITICAL
        if days_until_expiry <= self.high_max_days:
            return HIGH
        return MEDIUM


@dataclass(frozen=True)
class NotifierPolicy(AlertTiers):
    """Tier bounds (days until expiry, inclusive), the states with their own subscribers, and SNS limits."""

    critical_max_days: int
    high_max_days: int
    medium_max_days: int
    state_digest_states: tuple[str, ...] = ()
    # False: a digest with nothing new, escalated, newly lapsed or resolved is not sent.
    send_unchanged_digests: bool = True
    message_max_bytes: int = SNS_MAX_MESSAGE_BYTES
    subject_max_chars: int = SNS_MAX_SUBJECT_CHARS

    def __post_init__(self) -> None:
        self.check_tier_bounds()
        normalized = tuple(sorted({s.strip().upper() for s in self.state_digest_states if s.strip()}))
        object.__setattr__(self, "state_digest_states", normalized)
        if self.message_max_bytes < 4096:
            raise ConfigurationError(f"message_max_bytes must be at least 4096, got {self.message_max_bytes}")

    def day_range(self, priority: str) -> tuple[int, int]:
        """Inclusive (first, last) days until expiry of a tier."""
        return {
            CRITICAL: (0, self.critical_max_days),
            HIGH: (self.critical_max_days + 1, self.high_max_days),
            MEDIUM: (self.high_max_days + 1, self.medium_max_days),
        }[priority]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotifierPolicy:
        bounds = {}
        for name in ("CRITICAL_MAX_DAYS", "HIGH_MAX_DAYS", "MEDIUM_MAX_DAYS"):
            raw = env.get(name, "").strip()
            try:
                bounds[name] = int(raw)
            except ValueError:
                raise ConfigurationError(
                    f"environment variable {name} must be an integer, got {raw!r}"
                ) from None
        send_unchanged = env.get("SEND_UNCHANGED_DIGESTS", "true").strip().lower()
        if send_unchanged not in ("true", "false"):
            raise ConfigurationError(f"SEND_UNCHANGED_DIGESTS must be true or false, got {send_unchanged!r}")
        return cls(
            critical_max_days=bounds["CRITICAL_MAX_DAYS"],
            high_max_days=bounds["HIGH_MAX_DAYS"],
            medium_max_days=bounds["MEDIUM_MAX_DAYS"],
            state_digest_states=tuple(env.get("STATE_DIGEST_STATES", "").split(",")),
            send_unchanged_digests=send_unchanged == "true",
        )


class AccreditationRow(NamedTuple):
    """One row of the expiring or lapsed results, as text (NULL values arrive as empty strings).

    A tuple, not a dataclass: a million of them are made per run, and it writes straight back to CSV.
    """

    facility_id: str
    facility_name: str
    state: str
    accreditation_body: str
    accreditation_id: str
    valid_until: str
    days_until_expiry: str


@dataclass(frozen=True)
class DigestKey:
    """What makes a digest unique across runs and retries: one per as-of, tier and audience."""

    as_of: dt.date
    priority: str
    scope: str
    state: str | None = None

    @property
    def id(self) -> str:
        parts = [self.as_of.isoformat(), self.priority, self.scope]
        if self.state is not None:
            parts.append(self.state)
        return "#".join(parts)


@dataclass(frozen=True)
class Digest:
    key: DigestKey
    subject: str
    message: str
    attributes: dict[str, str]
    # Rows counted in the digest and rows left out of its text because of the size limit.
    listed: int
    omitted: int

    @property
    def topic(self) -> str:
        return self.key.priority


class ResultsReader(Protocol):
    def open_text(self, location: str) -> AbstractContextManager[TextIO]:
        """A text stream (newline='') over a results CSV; ResultsNotFoundError when it does not exist."""
        ...

    def list_folders(self, location: str, name_prefix: str) -> list[str]:
        """The immediate sub-folders of a folder location whose names start with name_prefix (S3: common
        prefixes), as locations."""
        ...


class AlertsWriter(Protocol):
    def open_sink(self, location: str) -> AbstractContextManager[TextIO]:
        """A text sink that becomes the object at `location` only when the block exits cleanly."""
        ...


class DigestPublisher(Protocol):
    def publish(self, digest: Digest) -> str:
        """Send the digest to its tier's topic; returns the message id. Errors propagate."""
        ...
