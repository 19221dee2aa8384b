"""Typed contracts of the run report: its request, the aggregates it shows, and the ports it reads through."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Generic, Protocol, TextIO, TypeVar

# The files the report reads are the notifier's and the queries' outputs: their names, columns and
# values come from the notifier package, which ships in the same zip, so the two cannot drift apart, and
# so do the kinds of error both functions raise (the `X as X` form re-exports them to the report's own
# modules).
from accreditation_notifier.changes import AS_OF_FOLDER_PREFIX as AS_OF_FOLDER_PREFIX
from accreditation_notifier.changes import CHANGES as CHANGES
from accreditation_notifier.changes import ESCALATED as CHANGE_ESCALATED
from accreditation_notifier.changes import LAPSED as LAPSED
from accreditation_notifier.changes import NEW as CHANGE_NEW
from accreditation_notifier.changes import NEWLY_LAPSED as CHANGE_NEWLY_LAPSED
from accreditation_notifier.changes import RESOLVED_COLUMNS as RESOLVED_COLUMNS
from accreditation_notifier.errors import ConfigurationError as ConfigurationError
from accreditation_notifier.errors import InputNotFoundError, MalformedInputError
from accreditation_notifier.errors import InvalidEventError as InvalidEventError
from accreditation_notifier.events import EventFields, as_folder
from accreditation_notifier.events import calendar_date as parse_date
from accreditation_notifier.model import ALERTS_FILE_NAME as ALERTS_FILE_NAME
from accreditation_notifier.model import CRITICAL as CRITICAL
from accreditation_notifier.model import HIGH as HIGH
from accreditation_notifier.model import LAPSED_FILE_NAME as LAPSED_FILE_NAME
from accreditation_notifier.model import MEDIUM as MEDIUM
from accreditation_notifier.model import PRIORITIES as ALERT_TIERS
from accreditation_notifier.model import RESOLVED_FILE_NAME as RESOLVED_FILE_NAME
from accreditation_notifier.model import RESULT_COLUMNS as RESULT_COLUMNS
from accreditation_notifier.model import AlertTiers

LATER = "later"
# The stage-2 window is split into the alert tiers plus what expires after the last of them.
WINDOW_TIERS: tuple[str, ...] = (*ALERT_TIERS, LATER)

# Files of one run's production folder (as_of=YYYY-MM-DD/) that the report reads or writes, beyond the
# notifier's.
EXPIRING_FILE = "expiring_accreditations.csv"
STATES_FILE = "facilities_by_state.csv"
REPORT_FILE = "report.html"
REPORT_DATA_FILE = "report_data.json"

# `change` is read when present: alerts written before change-aware digests have no such column.
ALERTS_COLUMNS: tuple[str, ...] = (*RESULT_COLUMNS, "priority")
STATES_COLUMNS: tuple[str, ...] = ("state", "facility_count", "accredited_facility_count")

# How much of each list the report keeps: it shows aggregates and the top of each list, never every row.
URGENT_ENTRIES = 100
CHANGED_ENTRIES = 100
RESOLVED_ENTRIES = 50
STATE_ROWS = 80
DATA_QUALITY_ROWS = 40
# Points of the trend chart, the current run included (it is the last one).
TREND_RUNS = 90


class ReportInputNotFoundError(InputNotFoundError):
    """A file the report needs does not exist."""


class MalformedReportInputError(MalformedInputError):
    """A results file or the curation report does not have the expected shape."""


T = TypeVar("T")

@dataclass(frozen=True)
class ReportPolicy(AlertTiers):
    """The pipeline's alert policy: the last day of each tier (inclusive) and stage 2's window."""

    critical_max_days: int = 30
    high_max_days: int = 60
    medium_max_days: int = 90
    expiring_window_months: int = 6

    def __post_init__(self) -> None:
        if self.expiring_window_months < 1:
            raise ConfigurationError(
                f"expiring_window_months must be positive, got {self.expiring_window_months}"
            )
        self.check_tier_bounds()

    def tier_of(self, days_until_expiry: int) -> str:
        """An alert tier, lapsed before day 0, or later past the last tier."""
        if days_until_expiry < 0:
            return LAPSED
        return self.priority_of(days_until_expiry) or LATER

    def label(self, tier: str) -> str:
        """E.g. 'critical (0-30 days)'."""
        ranges = {
            CRITICAL: f"0-{self.critical_max_days}",
            HIGH: f"{self.critical_max_days + 1}-{self.high_max_days}",
            MEDIUM: f"{self.high_max_days + 1}-{self.medium_max_days}",
            LATER: f"{self.medium_max_days + 1}+",
        }
        return f"{tier} ({ranges[tier]} days)" if tier in ranges else tier


@dataclass(frozen=True)
class ReportRequest:
    """One report run, as Step Functions (or the local runner) describes it."""

    as_of: dt.date
    run_id: str
    production_location: str
    latest_location: str
    curation_report: str | None
    previous_as_of: dt.date | None

    @classmethod
    def from_event(cls, event: object) -> ReportRequest:
        """Validate the event dict; every problem is reported at once, by field name."""
        fields = EventFields(event)
        texts = fields.required_texts(("as_of", "run_id", "production_location", "latest_location"))
        as_of = fields.calendar_date("as_of", texts)
        problems = fields.problems
        curation_report = fields.event.get("curation_report")
        if curation_report is not None and (not isinstance(curation_report, str) or not curation_report):
            problems.append(f"curation_report: a location or null, got {curation_report!r}")
        previous = fields.event.get("previous_as_of")
        previous_as_of = parse_date(previous) if isinstance(previous, str) else None
        if previous is not None and previous_as_of is None:
            problems.append(f"previous_as_of: a YYYY-MM-DD date or null, got {previous!r}")
        if as_of and previous_as_of and previous_as_of >= as_of:
            problems.append(f"previous_as_of: must be before as_of {as_of}, got {previous_as_of}")
        folder = f"{AS_OF_FOLDER_PREFIX}{texts.get('as_of')}"
        if as_of and "production_location" in texts and _last_segment(texts["production_location"]) != folder:
            problems.append(
                f"production_location: must end with {folder}/, got {texts['production_location']!r}"
            )
        fields.refuse_if_any()
        assert as_of is not None
        return cls(
            as_of=as_of,
            run_id=texts["run_id"],
            production_location=as_folder(texts["production_location"]),
            latest_location=as_folder(texts["latest_location"]),
            curation_report=curation_report,
            previous_as_of=previous_as_of,
        )

    @property
    def production_root(self) -> str:
        """The folder that holds every run's as_of=YYYY-MM-DD/ folder."""
        return self.production_location[: -len(_last_segment(self.production_location)) - 1]


def _last_segment(location: str) -> str:
    return location.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class TierCount:
    total: int = 0
    new: int = 0
    escalated: int = 0


@dataclass(frozen=True)
class Headline:
    """The counts at the top of the report."""

    tiers: dict[str, TierCount]
    lapsed: int
    newly_lapsed: int
    resolved: int
    resolved_by_resolution: dict[str, int]
    expiring_in_window: int
    facilities: int
    accredited_facilities: int


@dataclass(frozen=True)
class Accreditation:
    """What the report shows of an accreditation in every list, in the columns' order."""

    facility_id: str
    facility_name: str
    state: str
    accreditation_body: str
    accreditation_id: str
    valid_until: str


@dataclass(frozen=True)
class AlertEntry(Accreditation):
    """One alerting accreditation (a lapsed one has negative days and tier critical)."""

    days_until_expiry: int
    priority: str
    change: str

    @property
    def lapsed(self) -> bool:
        return self.days_until_expiry < 0

    @property
    def mark(self) -> str:
        """NEW, ESCALATED, NEWLY LAPSED or LAPSED, as the digests say; empty when unchanged."""
        if self.change == CHANGE_NEWLY_LAPSED:
            return "NEWLY LAPSED"
        if self.lapsed:
            return "LAPSED"
        return {CHANGE_NEW: "NEW", CHANGE_ESCALATED: "ESCALATED"}.get(self.change, "")


@dataclass(frozen=True)
class ResolvedEntry(Accreditation):
    previous_priority: str
    resolution: str
    detail: str


@dataclass(frozen=True)
class WeekBucket:
    """Accreditations of the stage-2 window that expire in one ISO week, by tier."""

    week_start: dt.date
    counts: dict[str, int]

    @property
    def label(self) -> str:
        year, week, _ = self.week_start.isocalendar()
        return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class StateCount:
    state: str
    facilities: int
    accredited_facilities: int


@dataclass(frozen=True)
class TrendPoint:
    """Tier counts of one run, as its report_data.json recorded them."""

    as_of: dt.date
    counts: dict[str, int]


@dataclass(frozen=True)
class Listing(Generic[T]):
    """The top of a list and how many entries were left out."""

    entries: tuple[T, ...]
    omitted: int = 0


@dataclass(frozen=True)
class DataQuality:
    """What the curation job reported (available is False when no curation report was found)."""

    available: bool
    input_lines: int | None = None
    curated: int | None = None
    quarantined: int | None = None
    facilities: int | None = None
    data_quality_issues: int | None = None
    # (name, count) pairs, largest first.
    quarantine_reasons: Listing[tuple[str, int]] = field(default_factory=lambda: Listing(entries=()))
    # None for curation reports written before issue kinds were counted.
    issue_kinds: Listing[tuple[str, int]] | None = None
    unknown_fields: Listing[tuple[str, int]] = field(default_factory=lambda: Listing(entries=()))


@dataclass(frozen=True)
class ReportLocations:
    production: str
    latest: str
    curation_report: str | None

    @property
    def report(self) -> str:
        return self.production + REPORT_FILE


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows: aggregates and the top of each list, never every row."""

    as_of: dt.date
    run_id: str
    previous_as_of: dt.date | None
    policy: ReportPolicy
    headline: Headline
    weeks: tuple[WeekBucket, ...]
    states: Listing[StateCount]
    urgent: Listing[AlertEntry]
    changed: Listing[AlertEntry]
    resolved: Listing[ResolvedEntry]
    trend: tuple[TrendPoint, ...]
    # Earlier runs' report_data.json files that could not be read (left out of the trend).
    unreadable_previous_runs: int
    data_quality: DataQuality
    locations: ReportLocations


class ReportReader(Protocol):
    def open_text(self, location: str) -> AbstractContextManager[TextIO]:
        """A text stream (newline='') over a file; ReportInputNotFoundError when it does not exist."""
        ...

    def read_text(self, location: str) -> str | None:
        """A small file's text, or None when it does not exist."""
        ...

    def list_previous_report_data(self, production_root: str, as_of: dt.date, limit: int) -> list[str]:
        """Texts of the report_data.json of the newest `limit` runs before as_of, oldest first."""
        ...


class ReportWriter(Protocol):
    def write_text(self, location: str, text: str, content_type: str) -> None: ...
