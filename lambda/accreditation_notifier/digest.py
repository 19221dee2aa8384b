"""Pure digest building: bounded memory for the most urgent rows, SNS-safe subject and message text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

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

LAPSED_MARK = "LAPSED"
EXPIRING_MARK = "EXPIRING"

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


def digest_line(row: AccreditationRow, days: int, lapsed: bool) -> str:
    mark = LAPSED_MARK if lapsed else EXPIRING_MARK
    name = row.facility_name or "(no name)"
    body = row.accreditation_body or "(no body)"
    accreditation_id = row.accreditation_id or "(no id)"
    return (
        f"{mark:<8} {days:>5} days  {row.valid_until}  {row.state:<7} "
        f"{row.facility_id}  {name}  [{body} {accreditation_id}]\n"
    )


@dataclass
class DigestAccumulator:
    """Counts every row of one digest and keeps, within a byte budget, the longest most-urgent-first prefix.

    Memory is bounded by the budget whatever the number of rows: candidates are compacted (sorted and
    cut to the budget) when they outgrow it by a quarter, and every row less urgent than the first row
    ever cut is dropped on arrival, so the kept rows are always a prefix of the urgency order.
    Urgency is days until expiry, then the line itself (valid until, state, facility, accreditation),
    which makes the order total and independent of the order Athena wrote the rows in.
    """

    budget_bytes: int
    expiring: int = 0
    lapsed: int = 0
    _candidates: list[tuple[int, str]] = field(default_factory=list)
    _candidate_bytes: int = 0
    _cutoff: tuple[int, str] | None = None

    def add(self, values: Sequence[str], days: int, lapsed: bool) -> None:
        """Count a row (its values in RESULT_COLUMNS order) and keep it if it is urgent enough to list."""
        if lapsed:
            self.lapsed += 1
        else:
            self.expiring += 1
        cutoff = self._cutoff
        if cutoff is not None and days > cutoff[0]:
            return
        candidate = (days, digest_line(AccreditationRow._make(values), days, lapsed))
        if cutoff is not None and candidate >= cutoff:
            return
        self._candidates.append(candidate)
        self._candidate_bytes += len(candidate[1].encode())
        if self._candidate_bytes > self.budget_bytes + self.budget_bytes // 4:
            self._compact()

    def _compact(self) -> None:
        self._candidates.sort()
        kept_bytes = 0
        for index, candidate in enumerate(self._candidates):
            size = len(candidate[1].encode())
            if kept_bytes + size > self.budget_bytes:
                self._cutoff = candidate if self._cutoff is None else min(candidate, self._cutoff)
                del self._candidates[index:]
                break
            kept_bytes += size
        self._candidate_bytes = kept_bytes

    @property
    def total(self) -> int:
        return self.expiring + self.lapsed

    def lines_most_urgent_first(self) -> list[str]:
        self._compact()
        return [line for _, line in self._candidates]


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


def build_digest(
    key: DigestKey,
    accumulator: DigestAccumulator,
    request: NotifierRequest,
    policy: NotifierPolicy,
) -> Digest:
    """The digest of one tier and audience, its message within the SNS size limit including attributes."""
    attributes = digest_attributes(key, request.run_id)
    first_day, last_day = policy.day_range(key.priority)
    audience = "all states" if key.scope == SCOPE_ALL else f"state {key.state}"
    tier = key.priority.upper()

    counts = f"{accumulator.expiring} expiring in {first_day}-{last_day} days"
    if key.priority == CRITICAL and accumulator.lapsed:
        counts += f", {accumulator.lapsed} lapsed"
    audience_tag = f" {key.state}" if key.scope == SCOPE_STATE else ""
    subject = plain_subject(
        f"[{tier}]{audience_tag} Accreditations: {counts} (as of {key.as_of.isoformat()})",
        policy.subject_max_chars,
    )

    header_lines = [
        f"{tier} accreditation alerts as of {key.as_of.isoformat()} ({audience})",
        f"Run: {request.run_id}",
        "",
        f"Accreditations expiring in {first_day}-{last_day} days: {accumulator.expiring}",
    ]
    if key.priority == CRITICAL:
        header_lines.append(
            f"Lapsed (no renewal from the same body), marked {LAPSED_MARK}: {accumulator.lapsed}"
        )
    header_lines += [
        "",
        "Most urgent first (days until expiry, valid until, state, facility, accreditation):",
    ]
    header = "\n".join(header_lines) + "\n"

    state_note = f" (rows with state {key.state})" if key.scope == SCOPE_STATE else ""
    footer_lines = [f"Full list of alerts{state_note}: {request.production_alerts}"]
    if key.priority == CRITICAL:
        footer_lines.append(f"Full list of lapsed accreditations{state_note}: {request.production_lapsed}")
    footer = "\n" + "\n".join(footer_lines) + "\n"

    lines = accumulator.lines_most_urgent_first()
    budget = policy.message_max_bytes - attributes_size(attributes)
    fixed = len(header.encode()) + len(footer.encode())
    listed_bytes = sum(len(line.encode()) for line in lines)
    while True:
        omitted = accumulator.total - len(lines)
        truncation = (
            f"... and {omitted} more not shown here (message size limit); see the full list below.\n"
            if omitted
            else ""
        )
        if fixed + listed_bytes + len(truncation.encode()) <= budget or not lines:
            break
        listed_bytes -= len(lines.pop().encode())
    message = header + "".join(lines) + truncation + footer
    return Digest(
        key=key,
        subject=subject,
        message=message,
        attributes=attributes,
        listed=len(lines),
        omitted=omitted,
    )
