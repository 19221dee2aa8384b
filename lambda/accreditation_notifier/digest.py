"""Pure digest building: bounded memory for the most urgent rows, SNS-safe subject and message text."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from accreditation_notifier.changes import ESCALATED, LAPSED, NEW, NEWLY_LAPSED, ResolvedAlert
from accreditation_notifier.model import (
    CRITICAL,
    SCOPE_ALL,
    SCOPE_STATE,
    AccreditationRow,
    Digest,
    DigestKey,
    NotifierPolicy,
    NotifierRequest,
)

_MARKS = {NEW: "NEW", ESCALATED: "ESCALATED", NEWLY_LAPSED: "NEWLY LAPSED"}
LAPSED_MARK = "LAPSED"

_CONTROL_OR_SPACE_RUN = re.compile(r"[\s\x00-\x1f\x7f]+")


def attributes_size(attributes: dict[str, str]) -> int:
    """Bytes SNS counts for message attributes: name, data type and value of each."""
    return sum(
        len(name.encode()) + len(b"String") + len(value.encode()) for name, value in attributes.items()
    )


def plain_subject(text: str, max_chars: int) -> str:
    """One line of printable ASCII, at most max_chars long (SNS e-mail subject rules)."""
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    one_line = _CONTROL_OR_SPACE_RUN.sub(" ", ascii_text).strip()
    if len(one_line) <= max_chars:
        return one_line
    return one_line[: max_chars - 3].rstrip() + "..."


def mark_of(change: str, lapsed: bool) -> str:
    """The digest mark: NEW, ESCALATED, NEWLY LAPSED, LAPSED, or blank for an unchanged expiring alert."""
    if change:
        return _MARKS[change]
    return LAPSED_MARK if lapsed else ""


_MARK_WIDTH = 13


def digest_line(row: AccreditationRow, days: int, mark: str) -> str:
    name = row.facility_name or "(no name)"
    body = row.accreditation_body or "(no body)"
    accreditation_id = row.accreditation_id or "(no id)"
    return (
        f"{mark:<{_MARK_WIDTH - 1}} {days:>5} days  {row.valid_until}  {row.state:<7} "
        f"{row.facility_id}  {name}  [{body} {accreditation_id}]\n"
    )


def resolved_line(resolved: ResolvedAlert) -> str:
    status, row = resolved.previous.status, resolved.previous.row
    was = "LAPSED" if status == LAPSED else status.upper()
    return (
        f"  {row.facility_id}  {row.facility_name or '(no name)'}  [{row.accreditation_body} "
        f"{row.accreditation_id}]  was {was}, valid until {row.valid_until}: "
        f"{resolved.resolution.replace('_', ' ')} ({resolved.detail})\n"
    )


@dataclass
class UrgentLines:
    """Within a byte budget, the longest most-urgent-first prefix of the lines it is offered.

    Memory is bounded by the budget whatever the number of lines: candidates are compacted (sorted and
    cut to the budget) when they outgrow it by a quarter, and every line less urgent than the first one
    ever cut is dropped on arrival, so the kept lines are always a prefix of the urgency order. The
    urgency key is days until expiry, then the line itself (the line, not a copy of part of it, to keep
    memory at one string per kept row), which makes the order total and independent of the order Athena
    wrote the rows in.
    """

    budget_bytes: int
    _candidates: list[tuple[tuple[int, str], str]] = field(default_factory=list)
    _candidate_bytes: int = 0
    _cutoff: tuple[int, str] | None = None

    def cuts_days_above(self, days: int) -> bool:
        """Whether every line of this many days is less urgent than one already cut (a cheap early test)."""
        return self._cutoff is not None and days > self._cutoff[0]

    def offer(self, urgency: tuple[int, str], line: str) -> None:
        cutoff = self._cutoff
        if cutoff is not None and urgency >= cutoff:
            return
        self._candidates.append((urgency, line))
        self._candidate_bytes += len(line.encode())
        if self._candidate_bytes > self.budget_bytes + self.budget_bytes // 4:
            self._compact()

    def _compact(self) -> None:
        self._candidates.sort()
        kept_bytes = 0
        for index, (urgency, line) in enumerate(self._candidates):
            size = len(line.encode())
            if kept_bytes + size > self.budget_bytes:
                self._cutoff = urgency if self._cutoff is None else min(urgency, self._cutoff)
                del self._candidates[index:]
                break
            kept_bytes += size
        self._candidate_bytes = kept_bytes

    def most_urgent_first(self) -> list[tuple[tuple[int, str], str]]:
        self._compact()
        return list(self._candidates)


@dataclass
class DigestAccumulator:
    """Counts every entry of one digest and keeps, within its budget, the most urgent lines to list.

    Changed entries (NEW, ESCALATED, NEWLY LAPSED), unchanged ones and resolved ones are kept apart, so a
    digest that must be cut to SNS's size limit cuts unchanged entries first, then resolved ones, and
    changed entries only when they alone exceed it.
    """

    budget_bytes: int
    expiring: int = 0
    lapsed: int = 0
    changes: Counter = field(default_factory=Counter)
    resolved: int = 0
    changed_lines: UrgentLines = field(init=False)
    unchanged_lines: UrgentLines = field(init=False)
    resolved_lines: UrgentLines = field(init=False)

    def __post_init__(self) -> None:
        self.changed_lines = UrgentLines(self.budget_bytes)
        self.unchanged_lines = UrgentLines(self.budget_bytes)
        self.resolved_lines = UrgentLines(self.budget_bytes)

    def add(self, values: Sequence[str], days: int, lapsed: bool, change: str = "") -> None:
        """Count an alert (its values in RESULT_COLUMNS order) and keep its line if urgent enough."""
        if lapsed:
            self.lapsed += 1
        else:
            self.expiring += 1
        if change:
            self.changes[change] += 1
        keeper = self.changed_lines if change else self.unchanged_lines
        if keeper.cuts_days_above(days):
            return
        line = digest_line(AccreditationRow._make(values), days, mark_of(change, lapsed))
        keeper.offer((days, line), line)

    def add_resolved(self, resolved: ResolvedAlert, order: int) -> None:
        self.resolved += 1
        self.resolved_lines.offer((order, ""), resolved_line(resolved))

    @property
    def total(self) -> int:
        return self.expiring + self.lapsed

    @property
    def changed(self) -> int:
        return sum(self.changes.values()) + self.resolved


def digest_attributes(key: DigestKey, run_id: str) -> dict[str, str]:
    attributes = {
        "priority": key.priority,
        "as_of": key.as_of.isoformat(),
        "scope": key.scope,
        "run_id": run_id,
    }
    if key.state is not None:
        attributes["state"] = key.state
    return attributes


def line_budget(policy: NotifierPolicy, request: NotifierRequest, key: DigestKey) -> int:
    """Upper bound for the listed lines of a digest; build_digest trims further for the header and footer."""
    return policy.message_max_bytes - attributes_size(digest_attributes(key, request.run_id))


def change_summary(accumulator: DigestAccumulator, previous_as_of: dt.date | None) -> str:
    """E.g. "3 new, 1 escalated, 2 resolved"; "first run" without a previous run; "no change"."""
    if previous_as_of is None:
        return "first run"
    parts = [
        f"{accumulator.changes[change]} {label}"
        for change, label in ((NEW, "new"), (ESCALATED, "escalated"), (NEWLY_LAPSED, "newly lapsed"))
        if accumulator.changes[change]
    ]
    if accumulator.resolved:
        parts.append(f"{accumulator.resolved} resolved")
    return ", ".join(parts) or "no change"


def _subject(key: DigestKey, accumulator: DigestAccumulator, policy: NotifierPolicy, summary: str) -> str:
    first_day, last_day = policy.day_range(key.priority)
    lapsed = f", {accumulator.lapsed} lapsed" if key.priority == CRITICAL and accumulator.lapsed else ""
    tag = f"[{key.priority.upper()}]" + (f" {key.state}" if key.scope == SCOPE_STATE else "")
    as_of = key.as_of.isoformat()
    # The most telling form that fits SNS's subject limit: what changed leads, the as-of stays.
    for counts, date in (
        (f"{accumulator.expiring} expiring in {first_day}-{last_day} days{lapsed}", f"(as of {as_of})"),
        (f"{accumulator.expiring} in {first_day}-{last_day} days{lapsed}", f"({as_of})"),
    ):
        subject = plain_subject(f"{tag} {summary} - {counts} {date}", 10_000)
        if len(subject) <= policy.subject_max_chars:
            return subject
    return plain_subject(f"{tag} {summary} ({as_of})", policy.subject_max_chars)


def build_digest(
    key: DigestKey,
    accumulator: DigestAccumulator,
    request: NotifierRequest,
    policy: NotifierPolicy,
    previous_as_of: dt.date | None,
) -> Digest:
    """The digest of one tier and audience, its message within the SNS size limit including attributes."""
    attributes = digest_attributes(key, request.run_id)
    first_day, last_day = policy.day_range(key.priority)
    audience = "all states" if key.scope == SCOPE_ALL else f"state {key.state}"
    tier = key.priority.upper()
    summary = change_summary(accumulator, previous_as_of)
    subject = _subject(key, accumulator, policy, summary)

    if previous_as_of is None:
        compared = "First run: there is no earlier run to compare with, so every entry is marked NEW."
    else:
        compared = f"Changes since the run of as-of {previous_as_of.isoformat()}: {summary}."
    header_lines = [
        f"{tier} accreditation alerts as of {key.as_of.isoformat()} ({audience})",
        f"Run: {request.run_id}",
        compared,
        "",
        f"Accreditations expiring in {first_day}-{last_day} days: {accumulator.expiring}",
    ]
    if key.priority == CRITICAL:
        header_lines.append(f"Lapsed (no renewal from the same body): {accumulator.lapsed}")
    header_lines += [
        "",
        "Most urgent first (change, days until expiry, valid until, state, facility, accreditation):",
    ]
    header = "\n".join(header_lines) + "\n"

    state_note = f" (rows with state {key.state})" if key.scope == SCOPE_STATE else ""
    footer_lines = [f"Full list of alerts{state_note}: {request.production_alerts}"]
    if key.priority == CRITICAL:
        footer_lines.append(f"Full list of lapsed accreditations{state_note}: {request.production_lapsed}")
    if previous_as_of is not None:
        footer_lines.append(f"Resolved alerts{state_note}: {request.production_resolved}")
    footer = "\n" + "\n".join(footer_lines) + "\n"

    kept = {
        "changed": [line for _, line in accumulator.changed_lines.most_urgent_first()],
        "unchanged": [line for _, line in accumulator.unchanged_lines.most_urgent_first()],
        "resolved": [line for _, line in accumulator.resolved_lines.most_urgent_first()],
    }
    kept_bytes = {group: sum(len(line.encode()) for line in lines) for group, lines in kept.items()}
    budget = policy.message_max_bytes - attributes_size(attributes)
    fixed = len(header.encode()) + len(footer.encode())
    while True:
        omitted = accumulator.total - len(kept["changed"]) - len(kept["unchanged"])
        omitted_changes = sum(accumulator.changes.values()) - len(kept["changed"])
        resolved_section = _resolved_section(previous_as_of, accumulator.resolved, kept["resolved"])
        truncation = _truncation_note(omitted, omitted_changes)
        size = fixed + kept_bytes["changed"] + kept_bytes["unchanged"] + len(truncation.encode())
        if size + len(resolved_section.encode()) <= budget:
            break
        # Cut what matters least first: unchanged entries, then resolved ones, then changed ones.
        group = next((name for name in ("unchanged", "resolved", "changed") if kept[name]), None)
        if group is None:
            break
        kept_bytes[group] -= len(kept[group].pop().encode())
    listed = sorted(kept["changed"] + kept["unchanged"], key=_urgency_of)
    message = header + "".join(listed) + truncation + footer + resolved_section
    return Digest(
        key=key,
        subject=subject,
        message=message,
        attributes=attributes,
        listed=len(listed),
        omitted=omitted,
    )


def _urgency_of(line: str) -> tuple[int, str]:
    """The urgency key of a listed line (days, then the text after the mark), as UrgentLines orders them."""
    rest = line[_MARK_WIDTH:]
    return int(rest.split(" days", 1)[0]), rest


def _truncation_note(omitted: int, omitted_changes: int) -> str:
    if not omitted:
        return ""
    of_which = f" ({omitted_changes} of them changed)" if omitted_changes else ""
    return f"... and {omitted} more not shown here{of_which} (message size limit); see the full list.\n"


def _resolved_section(previous_as_of: dt.date | None, count: int, lines: list[str]) -> str:
    if previous_as_of is None:
        return ""
    title = f"\nRESOLVED since {previous_as_of.isoformat()}: {count}\n"
    if not count:
        return title
    hidden = count - len(lines)
    more = f"  ... and {hidden} more (message size limit); see the resolved list above.\n" if hidden else ""
    return title + "".join(lines) + more
