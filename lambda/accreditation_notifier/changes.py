"""What changed since the previous run: each alert's mark, and the alerts that were resolved.

The previous run is the latest as-of before this one that has published its alerts CSV in production
(`as_of=YYYY-MM-DD/accreditation_alerts.csv`); a rerun of an as-of therefore compares with the as-of
before it and gives the same marks again. Its alerts are kept in memory, which is bounded by what one
run alerts on (tens of thousands of rows at most), never by the size of the registry.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from accreditation_notifier.model import (
    ALERTS_FILE_NAME,
    CRITICAL,
    HIGH,
    MEDIUM,
    RESULT_COLUMNS,
    AccreditationRow,
    MalformedResultsError,
    ResultsNotFoundError,
    ResultsReader,
)

LAPSED = "lapsed"

# Marks in digests, and the `change` column of the alerts CSV.
NEW, ESCALATED, NEWLY_LAPSED = "new", "escalated", "newly_lapsed"
CHANGES: tuple[str, ...] = (NEW, ESCALATED, NEWLY_LAPSED)
# Why an alert of the previous run no longer alerts.
RENEWED, NO_LONGER_DUE = "renewed", "no_longer_due"

_URGENCY = {MEDIUM: 1, HIGH: 2, CRITICAL: 3}
AS_OF_FOLDER_PREFIX = "as_of="
_AS_OF_FOLDER = re.compile(r"as_of=(\d{4}-\d{2}-\d{2})/?$")
_IDENTITY = ("facility_id", "accreditation_body", "accreditation_id")
_PREVIOUS_COLUMNS = (*_IDENTITY, "facility_name", "state", "valid_until", "days_until_expiry", "priority")

AccreditationKey = tuple[str, str, str]


class PreviousAlert(NamedTuple):
    """An alert of the previous run: its row as that run published it, and its status then."""

    row: AccreditationRow
    # critical, high, medium or lapsed (a lapsed row of the previous alerts CSV).
    status: str


class ResolvedAlert(NamedTuple):
    """An alert of the previous run that alerts in no tier now, and why, as far as this run can tell."""

    previous: PreviousAlert
    resolution: str
    detail: str

    @property
    def digest_priority(self) -> str:
        """The digest it leaves: its previous tier; a lapsed one leaves the critical digest."""
        return CRITICAL if self.previous.status == LAPSED else self.previous.status


# The accreditation as the previous run published it (its days until expiry then left out), and what
# became of it.
_ACCREDITATION_COLUMNS = tuple(column for column in RESULT_COLUMNS if column != "days_until_expiry")
RESOLVED_COLUMNS: tuple[str, ...] = (
    *_ACCREDITATION_COLUMNS,
    "previous_priority",
    "resolution",
    "detail",
)


@dataclass(frozen=True)
class PreviousRun:
    as_of: dt.date
    alerts: dict[AccreditationKey, PreviousAlert]


def production_root(production_location: str) -> str:
    """`s3://bucket/prefix/` of `s3://bucket/prefix/as_of=X/` (the folder holding every as-of)."""
    trimmed = production_location.rstrip("/")
    if not _AS_OF_FOLDER.search(trimmed):
        raise ValueError(f"production location does not end in as_of=YYYY-MM-DD/: {production_location}")
    return trimmed.rsplit("/", 1)[0] + "/"


def find_previous_run(reader: ResultsReader, production_location: str, as_of: dt.date) -> PreviousRun | None:
    """The latest as-of before `as_of` whose alerts CSV is in production, with its alerts; None if none."""
    root = production_root(production_location)
    earlier = sorted(
        (
            date
            for folder in reader.list_folders(root, AS_OF_FOLDER_PREFIX)
            if (match := _AS_OF_FOLDER.search(folder))
            and (date := dt.date.fromisoformat(match.group(1))) < as_of
        ),
        reverse=True,
    )
    for date in earlier:
        location = f"{root}as_of={date.isoformat()}/{ALERTS_FILE_NAME}"
        try:
            with reader.open_text(location) as stream:
                return PreviousRun(date, read_previous_alerts(stream, location))
        except ResultsNotFoundError:
            # A run that failed before publishing leaves its folder without alerts: look further back.
            continue
    return None


def read_previous_alerts(stream: Iterable[str], location: str) -> dict[AccreditationKey, PreviousAlert]:
    """Alerts of a published alerts CSV by accreditation (a row with negative days is a lapsed one)."""
    reader = csv.reader(stream, strict=True)
    header = next(reader, None)
    if header is None:
        return {}
    missing = [column for column in _PREVIOUS_COLUMNS if column not in header]
    if missing:
        raise MalformedResultsError(f"{location}: header lacks columns {missing}; found {header}")
    index = {column: header.index(column) for column in _PREVIOUS_COLUMNS}
    alerts: dict[AccreditationKey, PreviousAlert] = {}
    for values in reader:
        if not values:
            continue
        try:
            days = int(values[index["days_until_expiry"]])
        except (ValueError, IndexError):
            raise MalformedResultsError(
                f"{location} line {reader.line_num}: unreadable row {values}"
            ) from None
        status = LAPSED if days < 0 else values[index["priority"]]
        if status not in (LAPSED, *_URGENCY):
            raise MalformedResultsError(f"{location} line {reader.line_num}: unknown priority {status!r}")
        row = AccreditationRow._make(values[index[column]] for column in RESULT_COLUMNS)
        alerts[(row.facility_id, row.accreditation_body, row.accreditation_id)] = PreviousAlert(row, status)
    return alerts


@dataclass
class ChangeTracker:
    """Marks this run's alerts against the previous run's and finds what was resolved.

    Feed it every stage-2 row (`observe_window_row`, to see renewals), then classify each alert once
    (`change_of`); `resolved()` afterwards lists the previous alerts that did not alert again.
    """

    previous: PreviousRun | None
    _alerting: set[AccreditationKey] = field(default_factory=set)
    # Latest valid_until per (facility, body) among this run's stage-2 rows, for previous alerts only.
    _latest_in_window: dict[tuple[str, str], str] = field(default_factory=dict)
    _previous_bodies: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.previous is not None:
            self._previous_bodies = {(key[0], key[1]) for key in self.previous.alerts}

    @property
    def first_run(self) -> bool:
        return self.previous is None

    def observe_window_row(self, values: Sequence[str]) -> None:
        """A stage-2 row (RESULT_COLUMNS order): remembers a later date from a body that alerted before."""
        body = (values[0], values[3])
        if body in self._previous_bodies and values[5] > self._latest_in_window.get(body, ""):
            self._latest_in_window[body] = values[5]

    def change_of(self, values: Sequence[str], status: str) -> str:
        """The `change` of an alert of this run (status: its tier, or lapsed); "" when unchanged."""
        key = (values[0], values[3], values[4])
        before = self.previous.alerts.get(key) if self.previous else None
        if before is not None:
            # Only previous alerts are remembered: memory stays bounded by what the previous run alerted on.
            self._alerting.add(key)
        if status == LAPSED:
            return "" if before is not None and before.status == LAPSED else NEWLY_LAPSED
        if before is None:
            return NEW
        if before.status != LAPSED and _URGENCY[status] > _URGENCY[before.status]:
            return ESCALATED
        return ""

    def resolved(self, as_of: dt.date) -> list[ResolvedAlert]:
        """Previous alerts that alert in no tier now, most urgent (as they were) first."""
        if self.previous is None:
            return []
        found = []
        for key, alert in self.previous.alerts.items():
            if key in self._alerting:
                continue
            found.append(ResolvedAlert(alert, *self._resolution(alert, as_of)))
        return sorted(found, key=lambda r: (-_status_urgency(r.previous.status), r.previous))

    def _resolution(self, alert: PreviousAlert, as_of: dt.date) -> tuple[str, str]:
        row = alert.row
        later = self._latest_in_window.get((row.facility_id, row.accreditation_body), "")
        if later > row.valid_until:
            return RENEWED, f"{row.accreditation_body} now valid until {later}"
        if row.valid_until and row.valid_until < as_of.isoformat():
            return NO_LONGER_DUE, (
                f"its date passed without a lapse: renewed by {row.accreditation_body} beyond the alert "
                "window, or its record changed"
            )
        return NO_LONGER_DUE, "no longer due within the alert window: renewed beyond it, or record changed"


def _status_urgency(status: str) -> int:
    return 4 if status == LAPSED else _URGENCY[status]


def resolved_csv_row(resolved: ResolvedAlert) -> tuple[str, ...]:
    row = resolved.previous.row._asdict()
    accreditation = (row[column] for column in _ACCREDITATION_COLUMNS)
    return (*accreditation, resolved.previous.status, resolved.resolution, resolved.detail)
