"""The notifier's core: stream results, classify and mark alerts, write the alerts CSVs, publish once
(publication.py)."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any, TextIO

from aws_lambda_powertools import Logger

from accreditation_notifier.changes import (
    CHANGES,
    LAPSED,
    RESOLVED_COLUMNS,
    ChangeTracker,
    PreviousRun,
    ResolvedAlert,
    find_previous_run,
    resolved_csv_row,
)
from accreditation_notifier.digest import DigestAccumulator, build_digest, line_budget
from accreditation_notifier.model import (
    ALERTS_COLUMNS,
    CRITICAL,
    HIGH,
    MEDIUM,
    PRIORITIES,
    RESULT_COLUMNS,
    SCOPE_ALL,
    SCOPE_STATE,
    AccreditationRow,
    AlertsWriter,
    Digest,
    DigestKey,
    DigestPublisher,
    MalformedResultsError,
    NotifierPolicy,
    NotifierRequest,
    ResultsReader,
)
from accreditation_notifier.publication import PublicationRecords, publish_once

logger = Logger(child=True)


ResultValues = Sequence[str]
_STATE = RESULT_COLUMNS.index("state")


def iter_result_rows(stream: TextIO, location: str) -> Iterator[tuple[ResultValues, int]]:
    """(values in RESULT_COLUMNS order, days until expiry) of an Athena results CSV, one row at a time.

    Athena writes a header-only CSV for a query with no rows; a zero-byte object is taken as no rows too
    (logged), so a day with nothing expiring succeeds end to end instead of failing the notifier.
    """
    reader = csv.reader(stream, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        logger.warning({"message": "results object is empty, read as no rows", "location": location})
        return
    except csv.Error as error:
        raise MalformedResultsError(f"{location}: unreadable CSV header: {error}") from None
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    missing = [column for column in RESULT_COLUMNS if column not in header]
    if missing:
        raise MalformedResultsError(f"{location}: header lacks columns {missing}; found {header}")
    width = len(header)
    days_index = header.index("days_until_expiry")
    # Athena writes the columns in the query's order; reorder only when a file differs.
    pick = None if tuple(header) == RESULT_COLUMNS else itemgetter(*(header.index(c) for c in RESULT_COLUMNS))
    try:
        for values in reader:
            if len(values) != width:
                if not values:
                    continue
                raise MalformedResultsError(
                    f"{location} line {reader.line_num}: {len(values)} values, header has {width}"
                )
            try:
                days = int(values[days_index])
            except ValueError:
                raise MalformedResultsError(
                    f"{location} line {reader.line_num}: days_until_expiry is not an integer: "
                    f"{values[days_index]!r}"
                ) from None
            yield (values if pick is None else pick(values)), days
    except csv.Error as error:
        raise MalformedResultsError(f"{location} line {reader.line_num}: {error}") from None


class AthenaStyleCsv:
    """A CSV quoted like Athena's own results (every value in double quotes), written in batches.

    Joining strings is about three times faster than csv.writer here, and this runs once per alert row.
    """

    _BATCH_LINES = 4096

    def __init__(self, sink: TextIO, columns: Sequence[str]) -> None:
        self._sink = sink
        self._pending: list[str] = []
        self._separator_quotes = 2 * (len(columns) - 1)
        self.write(columns)

    def write(self, values: Sequence[str]) -> None:
        joined = '","'.join(values)
        if joined.count('"') != self._separator_quotes:
            joined = '","'.join(value.replace('"', '""') for value in values)
        self._pending.append(f'"{joined}"\n')
        if len(self._pending) >= self._BATCH_LINES:
            self.flush()

    def flush(self) -> None:
        self._sink.write("".join(self._pending))
        self._pending.clear()


class _Audience:
    """The digests of one tier: the national one plus one per subscribed state that has rows."""

    def __init__(
        self, request: NotifierRequest, policy: NotifierPolicy, priority: str, previous: PreviousRun | None
    ) -> None:
        self._request = request
        self._policy = policy
        self._priority = priority
        self._previous_as_of = previous.as_of if previous else None
        self.national_key = DigestKey(request.as_of, priority, SCOPE_ALL)
        self.national = DigestAccumulator(line_budget(policy, request, self.national_key))
        self.states: dict[str, DigestAccumulator] = {}

    def add(self, values: ResultValues, days: int, lapsed: bool, change: str) -> None:
        self.national.add(values, days, lapsed, change)
        state_digest = self._state_accumulator(values[_STATE])
        if state_digest is not None:
            state_digest.add(values, days, lapsed, change)

    def add_resolved(self, resolved: ResolvedAlert, order: int) -> None:
        self.national.add_resolved(resolved, order)
        state_digest = self._state_accumulator(resolved.previous.row.state)
        if state_digest is not None:
            state_digest.add_resolved(resolved, order)

    def _state_accumulator(self, state: str) -> DigestAccumulator | None:
        if state not in self._policy.state_digest_states:
            return None
        accumulator = self.states.get(state)
        if accumulator is None:
            budget = line_budget(self._policy, self._request, self._state_key(state))
            accumulator = self.states[state] = DigestAccumulator(budget)
        return accumulator

    def _state_key(self, state: str) -> DigestKey:
        return DigestKey(self._request.as_of, self._priority, SCOPE_STATE, state)

    def digests(self) -> tuple[list[Digest], list[str]]:
        """The digests to send, and the ids of those left unsent because nothing changed."""
        audiences = [(self.national_key, self.national)]
        audiences += [(self._state_key(state), self.states[state]) for state in sorted(self.states)]
        built, unchanged = [], []
        for key, accumulator in audiences:
            if not accumulator.total and not accumulator.resolved:
                continue
            if not self._policy.send_unchanged_digests and not accumulator.changed:
                unchanged.append(key.id)
                continue
            built.append(build_digest(key, accumulator, self._request, self._policy, self._previous_as_of))
        return built, unchanged


def collect_digests(
    request: NotifierRequest,
    policy: NotifierPolicy,
    reader: ResultsReader,
    alerts_writer: AlertsWriter,
) -> tuple[list[Digest], dict[str, Any]]:
    """Stream both results once, mark changes since the previous run, write the alerts and resolved CSVs,
    and return the digests and the counts the summary reports.

    The CSVs are committed only when both results were read completely.
    """
    previous = find_previous_run(reader, request.production_location, request.as_of)
    tracker = ChangeTracker(previous)
    audiences = {priority: _Audience(request, policy, priority, previous) for priority in PRIORITIES}
    alert_counts = dict.fromkeys(PRIORITIES, 0)
    expiring_count = lapsed_count = 0
    critical_max, high_max = policy.critical_max_days, policy.high_max_days
    medium_max = policy.medium_max_days
    with alerts_writer.open_sink(request.alerts_output) as sink:
        alerts_csv = AthenaStyleCsv(sink, ALERTS_COLUMNS)
        with reader.open_text(request.expiring_results) as stream:
            for values, days in iter_result_rows(stream, request.expiring_results):
                # The hot loop of a run (one pass per stage-2 row): plain comparisons first.
                expiring_count += 1
                tracker.observe_window_row(values)
                if days > medium_max:
                    continue
                if days < 0:
                    row = AccreditationRow._make(values)
                    raise MalformedResultsError(
                        f"{request.expiring_results}: negative days_until_expiry {days} in {row}"
                    )
                priority = CRITICAL if days <= critical_max else HIGH if days <= high_max else MEDIUM
                alert_counts[priority] += 1
                change = tracker.change_of(values, priority)
                alerts_csv.write((*values, priority, change))
                audiences[priority].add(values, days, False, change)
        with reader.open_text(request.lapsed_results) as stream:
            for values, days in iter_result_rows(stream, request.lapsed_results):
                if days >= 0:
                    row = AccreditationRow._make(values)
                    raise MalformedResultsError(
                        f"{request.lapsed_results}: lapsed row with days_until_expiry {days} >= 0 in {row}"
                    )
                lapsed_count += 1
                change = tracker.change_of(values, LAPSED)
                alerts_csv.write((*values, CRITICAL, change))
                audiences[CRITICAL].add(values, days, True, change)
        alerts_csv.flush()
        resolved = tracker.resolved(request.as_of)
        with alerts_writer.open_sink(request.resolved_output) as resolved_sink:
            resolved_csv = AthenaStyleCsv(resolved_sink, RESOLVED_COLUMNS)
            for order, entry in enumerate(resolved):
                resolved_csv.write(resolved_csv_row(entry))
                audiences[entry.digest_priority].add_resolved(entry, order)
            resolved_csv.flush()
    digests: list[Digest] = []
    unchanged: list[str] = []
    for priority in PRIORITIES:
        built, skipped = audiences[priority].digests()
        digests += built
        unchanged += skipped
    changes = {
        priority: {
            **{change: audiences[priority].national.changes[change] for change in CHANGES},
            "resolved": audiences[priority].national.resolved,
        }
        for priority in PRIORITIES
    }
    counts = {
        "expiring": expiring_count,
        "alerts": alert_counts,
        "lapsed": lapsed_count,
        "previous_as_of": previous.as_of.isoformat() if previous else None,
        "changes": changes,
        "change_totals": {
            name: sum(tier[name] for tier in changes.values()) for name in (*CHANGES, "resolved")
        },
        "unchanged_digests_not_sent": unchanged,
    }
    return digests, counts


def run_notifier(
    request: NotifierRequest,
    policy: NotifierPolicy,
    reader: ResultsReader,
    alerts_writer: AlertsWriter,
    publisher: DigestPublisher,
    records: PublicationRecords,
) -> dict[str, object]:
    """Stage 3 with the caller's adapters; returns the summary the success notification quotes."""
    digests, counts = collect_digests(request, policy, reader, alerts_writer)
    logger.info(
        {
            "message": "results classified",
            "as_of": request.as_of.isoformat(),
            **counts,
            "digests": [digest.key.id for digest in digests],
        }
    )
    published, skipped = publish_once(digests, publisher, records, request.run_id)
    return {
        "as_of": request.as_of.isoformat(),
        "run_id": request.run_id,
        **counts,
        "messages_published": published,
        "duplicates_skipped": skipped,
        "alerts_output": request.alerts_output,
        "resolved_output": request.resolved_output,
    }
