"""One streaming pass over each result file of a run, keeping aggregates and the top of each list."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from accreditation_report.model import (
    ALERT_TIERS,
    ALERTS_COLUMNS,
    ALERTS_FILE_NAME,
    CHANGE_ESCALATED,
    CHANGE_NEW,
    CHANGE_NEWLY_LAPSED,
    CHANGED_ENTRIES,
    CHANGES,
    CRITICAL,
    DATA_QUALITY_ROWS,
    EXPIRING_FILE,
    HIGH,
    LAPSED,
    LAPSED_FILE_NAME,
    MEDIUM,
    RESOLVED_COLUMNS,
    RESOLVED_ENTRIES,
    RESOLVED_FILE_NAME,
    RESULT_COLUMNS,
    STATE_ROWS,
    STATES_COLUMNS,
    STATES_FILE,
    TREND_RUNS,
    URGENT_ENTRIES,
    WINDOW_TIERS,
    AlertEntry,
    DataQuality,
    Headline,
    Listing,
    MalformedReportInputError,
    ReportInputNotFoundError,
    ReportInputs,
    ReportLocations,
    ReportPolicy,
    ReportReader,
    ReportRequest,
    ResolvedEntry,
    StateCount,
    TierCount,
    TrendPoint,
    WeekBucket,
    parse_date,
)
from accreditation_report.report_data import trend_point

Item = TypeVar("Item")
_PREVIOUS_PRIORITY_ORDER = {LAPSED: 0, CRITICAL: 1, HIGH: 2, MEDIUM: 3}


class TopEntries(Generic[Item]):
    """The `limit` entries with the smallest keys among all offered, in memory bounded by twice the limit."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._candidates: list[tuple[Any, Item]] = []
        self.offered = 0

    def offer(self, key: Any, item: Item) -> None:
        self.offered += 1
        self._candidates.append((key, item))
        if len(self._candidates) >= 2 * self._limit:
            self._compact()

    def _compact(self) -> None:
        self._candidates.sort(key=lambda candidate: candidate[0])
        del self._candidates[self._limit :]

    def listing(self) -> Listing[Item]:
        self._compact()
        entries = tuple(item for _, item in self._candidates)
        return Listing(entries=entries, omitted=self.offered - len(entries))


def read_rows(
    reader: ReportReader, location: str, required: Sequence[str], optional: Sequence[str] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: value}) of every row of an Athena CSV; NULL reads as an empty string.

    Athena writes a header-only CSV for a query with no rows; a zero-byte file is taken as no rows too.
    """
    with reader.open_text(location) as stream:
        rows = csv.reader(stream, strict=True)
        try:
            header = next(rows, None)
            if header is None:
                return
            if header and header[0].startswith("\ufeff"):
                header[0] = header[0][1:]
            missing = [column for column in required if column not in header]
            if missing:
                raise MalformedReportInputError(f"{location}: header lacks columns {missing}; found {header}")
            picked = [(column, header.index(column)) for column in (*required, *optional) if column in header]
            for values in rows:
                if not values:
                    continue
                if len(values) != len(header):
                    raise MalformedReportInputError(
                        f"{location} line {rows.line_num}: {len(values)} values, header has {len(header)}"
                    )
                yield rows.line_num, {column: values[index] for column, index in picked}
        except csv.Error as error:
            raise MalformedReportInputError(f"{location}: unreadable CSV: {error}") from None


def _integer(row: Mapping[str, str], column: str, location: str, line: int) -> int:
    try:
        return int(row[column])
    except ValueError:
        raise MalformedReportInputError(
            f"{location} line {line}: {column} must be an integer, got {row[column]!r}"
        ) from None


def _urgency(entry: AlertEntry) -> tuple[int, str, str, str, str]:
    """Most urgent first, as the digests list them: days until expiry (most lapsed first), then names."""
    return (
        entry.days_until_expiry,
        entry.valid_until,
        entry.state,
        entry.facility_id,
        entry.accreditation_id,
    )


def _alert_entry(row: Mapping[str, str], days: int, location: str, line: int) -> AlertEntry:
    priority = row["priority"]
    if priority not in ALERT_TIERS:
        raise MalformedReportInputError(f"{location} line {line}: unknown priority {priority!r}")
    change = row.get("change", "")
    if change and change not in CHANGES:
        raise MalformedReportInputError(f"{location} line {line}: unknown change {change!r}")
    return AlertEntry(
        facility_id=row["facility_id"],
        facility_name=row["facility_name"],
        state=row["state"],
        accreditation_body=row["accreditation_body"],
        accreditation_id=row["accreditation_id"],
        valid_until=row["valid_until"],
        days_until_expiry=days,
        priority=priority,
        change=change,
    )


class _AlertTally:
    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()
        self.changes: Counter[tuple[str, str]] = Counter()
        self.newly_lapsed = 0
        self.urgent: TopEntries[AlertEntry] = TopEntries(URGENT_ENTRIES)
        self.changed: TopEntries[AlertEntry] = TopEntries(CHANGED_ENTRIES)

    def add(self, entry: AlertEntry) -> None:
        key = _urgency(entry)
        self.urgent.offer(key, entry)
        if entry.change:
            self.changed.offer(key, entry)
        if entry.lapsed:
            self.newly_lapsed += entry.change == CHANGE_NEWLY_LAPSED
            return
        self.totals[entry.priority] += 1
        if entry.change:
            self.changes[entry.priority, entry.change] += 1

    def tier_counts(self) -> dict[str, TierCount]:
        return {
            tier: TierCount(
                total=self.totals[tier],
                new=self.changes[tier, CHANGE_NEW],
                escalated=self.changes[tier, CHANGE_ESCALATED],
            )
            for tier in ALERT_TIERS
        }


def _tally_alerts(reader: ReportReader, location: str) -> _AlertTally:
    tally = _AlertTally()
    for line, row in read_rows(reader, location, ALERTS_COLUMNS, optional=("change",)):
        days = _integer(row, "days_until_expiry", location, line)
        tally.add(_alert_entry(row, days, location, line))
    return tally


def _count_rows(reader: ReportReader, location: str) -> int:
    return sum(1 for _ in read_rows(reader, location, RESULT_COLUMNS))


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def window_end(as_of: dt.date, months: int) -> dt.date:
    """The last day of stage 2's window: as_of plus `months`, the end of month clamped (Athena's date_add)."""
    month_index = as_of.month - 1 + months
    year, month = as_of.year + month_index // 12, month_index % 12 + 1
    for day in (as_of.day, 30, 29, 28):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def _weekly_buckets(
    reader: ReportReader, location: str, as_of: dt.date, policy: ReportPolicy
) -> tuple[tuple[WeekBucket, ...], int]:
    """Accreditations expiring per ISO week (Monday first) over the whole window, and their total."""
    per_week: Counter[tuple[dt.date, str]] = Counter()
    last = window_end(as_of, policy.expiring_window_months)
    total = 0
    for line, row in read_rows(reader, location, RESULT_COLUMNS):
        days = _integer(row, "days_until_expiry", location, line)
        valid_until = parse_date(row["valid_until"])
        if valid_until is None:
            raise MalformedReportInputError(
                f"{location} line {line}: valid_until must be a date, got {row['valid_until']!r}"
            )
        tier = policy.tier_of(days)
        if tier == LAPSED:
            raise MalformedReportInputError(f"{location} line {line}: negative days_until_expiry {days}")
        per_week[_week_start(valid_until), tier] += 1
        last = max(last, valid_until)
        total += 1
    weeks = []
    week = _week_start(as_of)
    while week <= last:
        weeks.append(
            WeekBucket(week_start=week, counts={tier: per_week[week, tier] for tier in WINDOW_TIERS})
        )
        week += dt.timedelta(days=7)
    return tuple(weeks), total


def _states(reader: ReportReader, location: str) -> tuple[Listing[StateCount], int, int]:
    """The states with the most facilities, and the facility and accredited-facility totals of all."""
    top: TopEntries[StateCount] = TopEntries(STATE_ROWS)
    facilities = accredited = 0
    for line, row in read_rows(reader, location, STATES_COLUMNS):
        count = StateCount(
            state=row["state"],
            facilities=_integer(row, "facility_count", location, line),
            accredited_facilities=_integer(row, "accredited_facility_count", location, line),
        )
        facilities += count.facilities
        accredited += count.accredited_facilities
        top.offer((-count.facilities, count.state), count)
    return top.listing(), facilities, accredited


def _resolved(reader: ReportReader, location: str) -> tuple[Listing[ResolvedEntry], Counter[str]]:
    """What stopped alerting since the previous run; a missing file (a first run) is none."""
    top: TopEntries[ResolvedEntry] = TopEntries(RESOLVED_ENTRIES)
    by_resolution: Counter[str] = Counter()
    try:
        for _, row in read_rows(reader, location, RESOLVED_COLUMNS):
            entry = ResolvedEntry(**{column: row[column] for column in RESOLVED_COLUMNS})
            by_resolution[entry.resolution] += 1
            order = _PREVIOUS_PRIORITY_ORDER.get(entry.previous_priority, len(_PREVIOUS_PRIORITY_ORDER))
            top.offer((order, entry.state, entry.facility_id, entry.accreditation_id), entry)
    except ReportInputNotFoundError:
        return Listing(entries=()), Counter()
    return top.listing(), by_resolution


def _ranked(counts: Mapping[str, Any], location: str, key: str) -> Listing[tuple[str, int]]:
    if not isinstance(counts, Mapping) or not all(isinstance(n, int) for n in counts.values()):
        raise MalformedReportInputError(f"{location}: {key} must map names to counts, got {counts!r}")
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return Listing(entries=tuple(ranked[:DATA_QUALITY_ROWS]), omitted=max(0, len(ranked) - DATA_QUALITY_ROWS))


def data_quality_of(reader: ReportReader, location: str | None) -> DataQuality:
    """The curation report's counts; unavailable when there is no report to read."""
    text = reader.read_text(location) if location else None
    if text is None:
        return DataQuality(available=False)
    try:
        report = json.loads(text)
    except ValueError as error:
        raise MalformedReportInputError(f"{location}: not JSON: {error}") from None
    if not isinstance(report, dict):
        raise MalformedReportInputError(f"{location}: must be a JSON object")
    assert location is not None

    def count(key: str) -> int | None:
        value = report.get(key)
        return value if isinstance(value, int) else None

    issue_kinds = report.get("issue_kinds")
    return DataQuality(
        available=True,
        input_lines=count("input_lines"),
        curated=count("curated"),
        quarantined=count("quarantined"),
        facilities=count("facilities"),
        data_quality_issues=count("data_quality_issues"),
        quarantine_reasons=_ranked(report.get("quarantine_reasons", {}), location, "quarantine_reasons"),
        issue_kinds=None if issue_kinds is None else _ranked(issue_kinds, location, "issue_kinds"),
        unknown_fields=_ranked(report.get("schema_drift", {}), location, "schema_drift"),
    )


def _trend(
    reader: ReportReader, request: ReportRequest, current: Mapping[str, int]
) -> tuple[tuple[TrendPoint, ...], int]:
    """Tier counts of up to TREND_RUNS runs, this one last, and the number of unreadable earlier ones."""
    texts = reader.list_previous_report_data(request.production_root, request.as_of, TREND_RUNS - 1)
    parsed = [trend_point(text) for text in texts]
    points = sorted(
        (point for point in parsed if point is not None and point.as_of < request.as_of),
        key=lambda point: point.as_of,
    )[-(TREND_RUNS - 1) :]
    points.append(TrendPoint(as_of=request.as_of, counts=dict(current)))
    return tuple(points), sum(point is None for point in parsed)


def collect_report_inputs(
    reader: ReportReader, request: ReportRequest, policy: ReportPolicy | None = None
) -> ReportInputs:
    """Read each result file of the run's production folder once and keep what the report shows."""
    policy = policy or ReportPolicy()
    folder = request.production_location
    alerts = _tally_alerts(reader, folder + ALERTS_FILE_NAME)
    lapsed = _count_rows(reader, folder + LAPSED_FILE_NAME)
    resolved, by_resolution = _resolved(reader, folder + RESOLVED_FILE_NAME)
    weeks, expiring = _weekly_buckets(reader, folder + EXPIRING_FILE, request.as_of, policy)
    states, facilities, accredited = _states(reader, folder + STATES_FILE)
    tiers = alerts.tier_counts()
    headline = Headline(
        tiers=tiers,
        lapsed=lapsed,
        newly_lapsed=alerts.newly_lapsed,
        resolved=sum(by_resolution.values()),
        resolved_by_resolution=dict(sorted(by_resolution.items())),
        expiring_in_window=expiring,
        facilities=facilities,
        accredited_facilities=accredited,
    )
    current = {**{tier: tiers[tier].total for tier in ALERT_TIERS}, LAPSED: lapsed}
    trend, unreadable = _trend(reader, request, current)
    data_quality = data_quality_of(reader, request.curation_report)
    return ReportInputs(
        as_of=request.as_of,
        run_id=request.run_id,
        previous_as_of=request.previous_as_of,
        policy=policy,
        headline=headline,
        weeks=weeks,
        states=states,
        urgent=alerts.urgent.listing(),
        changed=alerts.changed.listing(),
        resolved=resolved,
        trend=trend,
        unreadable_previous_runs=unreadable,
        data_quality=data_quality,
        locations=ReportLocations(
            production=request.production_location,
            latest=request.latest_location,
            curation_report=request.curation_report,
        ),
    )
