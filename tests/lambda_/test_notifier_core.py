"""The notifier core without AWS: event validation, tiers, digests, SNS limits, exactly once, memory."""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
import tracemalloc
from pathlib import Path

import pytest
from accreditation_notifier.core import run_notifier
from accreditation_notifier.digest import DigestAccumulator, attributes_size, digest_line, plain_subject
from accreditation_notifier.model import (
    ALERTS_COLUMNS,
    AccreditationRow,
    ConfigurationError,
    Digest,
    InvalidEventError,
    MalformedResultsError,
    NotifierPolicy,
    NotifierRequest,
    ResultsNotFoundError,
)
from accreditation_notifier.publication import PublicationRecords
from notifier_testkit import AS_OF, local_event, result_row, write_results

from pipeline.local.notifier_adapters import (
    LocalAlertsWriter,
    LocalResultsReader,
)
from pipeline.local.publication_records import MemoryPublicationStore

POLICY = NotifierPolicy(critical_max_days=30, high_max_days=60, medium_max_days=90)


class RecordingPublisher:
    """Keeps what was published; fails on the tiers listed in fail_on."""

    def __init__(self, fail_on: frozenset[str] = frozenset()) -> None:
        self.published: list[Digest] = []
        self.fail_on = fail_on

    def publish(self, digest: Digest) -> str:
        if digest.topic in self.fail_on:
            raise ConnectionError(f"{digest.topic} topic unavailable")
        self.published.append(digest)
        return f"message-{len(self.published)}"


def listed_entries(message: str) -> list[tuple[str, int, str]]:
    """(mark, days until expiry, facility id) of each listed line of a digest, in order."""
    entries = []
    for line in message.splitlines():
        rest = line[13:].split()
        if len(rest) > 4 and rest[1] == "days" and rest[0].lstrip("-").isdigit():
            entries.append((line[:12].strip(), int(rest[0]), rest[4]))
    return entries


def write_inputs(out_dir: Path, expiring: list, lapsed: list | None = None) -> dict[str, str]:
    event = local_event(out_dir)
    write_results(out_dir / "athena-results/stage2/expiring.csv", expiring)
    write_results(out_dir / "athena-results/lapsed/lapsed.csv", lapsed or [])
    return event


def run(out_dir: Path, event: dict, publisher, store=None, policy: NotifierPolicy = POLICY) -> dict:
    return run_notifier(
        NotifierRequest.from_event(event),
        policy,
        reader=LocalResultsReader(out_dir),
        alerts_writer=LocalAlertsWriter(out_dir),
        publisher=publisher,
        records=PublicationRecords(store or MemoryPublicationStore()),
    )


def read_alerts(out_dir: Path, run_id: str = "run-1") -> list[dict[str, str]]:
    path = out_dir / f"athena-results/notifier/{run_id}/accreditation_alerts.csv"
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames or ()) == ALERTS_COLUMNS
        return list(reader)


# --- event validation ---------------------------------------------------------------------------


def test_a_valid_event_becomes_a_request_with_a_trailing_slash_on_the_production_location(tmp_path):
    event = local_event(tmp_path) | {"production_location": "s3://production/as_of=2026-12-01"}
    request = NotifierRequest.from_event(event)
    assert request.as_of == AS_OF
    assert request.production_alerts == "s3://production/as_of=2026-12-01/accreditation_alerts.csv"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("not a dict", "event must be a JSON object, got str"),
        ([], "event must be a JSON object, got list"),
        ({}, "as_of: missing; run_id: missing; expiring_results: missing"),
        ({"as_of": "2026-02-30"}, "as_of: must be a calendar date YYYY-MM-DD, got '2026-02-30'"),
        ({"as_of": "20261201"}, "as_of: must be a calendar date YYYY-MM-DD, got '20261201'"),
        ({"as_of": 20261201}, "as_of: must be a non-empty string, got 20261201"),
        ({"run_id": "  "}, "run_id: must be a non-empty string, got '  '"),
        ({"lapsed_results": None}, "lapsed_results: missing"),
    ],
)
def test_a_malformed_event_is_rejected_with_every_problem_named(tmp_path, event, message):
    if isinstance(event, dict) and event:
        event = local_event(tmp_path) | event
    with pytest.raises(InvalidEventError, match=r"invalid notifier event|event must be") as raised:
        NotifierRequest.from_event(event)
    assert message in str(raised.value)


# --- policy and classification ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "priority"),
    [
        (-1, None),
        (0, "critical"),
        (30, "critical"),
        (31, "high"),
        (60, "high"),
        (61, "medium"),
        (90, "medium"),
        (91, None),
        (183, None),
    ],
)
def test_tier_boundaries_are_inclusive(days, priority):
    assert POLICY.priority_of(days) == priority


def test_boundary_rows_land_in_their_tier_in_the_alerts_csv_and_the_summary(tmp_path):
    days = [0, 30, 31, 60, 61, 90, 91, 150]
    event = write_inputs(tmp_path, [result_row(f"F{d:03d}", d) for d in days])

    summary = run(tmp_path, event, RecordingPublisher())

    assert summary["alerts"] == {"critical": 2, "high": 2, "medium": 2}
    assert [(row["facility_id"], row["priority"]) for row in read_alerts(tmp_path)] == [
        ("F000", "critical"),
        ("F030", "critical"),
        ("F031", "high"),
        ("F060", "high"),
        ("F061", "medium"),
        ("F090", "medium"),
    ]


def test_tier_bounds_come_from_the_policy(tmp_path):
    event = write_inputs(tmp_path, [result_row("F1", 10), result_row("F2", 20), result_row("F3", 45)])
    narrow = NotifierPolicy(critical_max_days=10, high_max_days=20, medium_max_days=40)

    summary = run(tmp_path, event, RecordingPublisher(), policy=narrow)

    assert summary["alerts"] == {"critical": 1, "high": 1, "medium": 0}


def test_policy_from_env_reads_bounds_and_normalizes_states():
    policy = NotifierPolicy.from_env(
        {
            "CRITICAL_MAX_DAYS": "7",
            "HIGH_MAX_DAYS": "14",
            "MEDIUM_MAX_DAYS": "28",
            "STATE_DIGEST_STATES": " tx,,ca ",
        }
    )
    assert (policy.critical_max_days, policy.high_max_days, policy.medium_max_days) == (7, 14, 28)
    assert policy.state_digest_states == ("CA", "TX")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"CRITICAL_MAX_DAYS": "30", "HIGH_MAX_DAYS": "sixty", "MEDIUM_MAX_DAYS": "90"},
            "HIGH_MAX_DAYS must be",
        ),
        ({"CRITICAL_MAX_DAYS": "30", "HIGH_MAX_DAYS": "60"}, "MEDIUM_MAX_DAYS must be an integer, got ''"),
        ({"CRITICAL_MAX_DAYS": "60", "HIGH_MAX_DAYS": "30", "MEDIUM_MAX_DAYS": "90"}, "0 <= critical < high"),
    ],
)
def test_policy_from_env_rejects_bad_bounds(env, message):
    with pytest.raises(ConfigurationError, match=message):
        NotifierPolicy.from_env(env)


# --- digests ------------------------------------------------------------------------------------


def test_one_digest_per_non_empty_tier_with_counts_and_the_production_location(tmp_path):
    event = write_inputs(tmp_path, [result_row("F1", 5), result_row("F2", 45), result_row("F3", 50)])
    publisher = RecordingPublisher()

    summary = run(tmp_path, event, publisher)

    assert [d.key.id for d in publisher.published] == ["2026-12-01#critical#all", "2026-12-01#high#all"]
    assert summary["messages_published"] == 2
    high = publisher.published[1]
    assert "Accreditations expiring in 31-60 days: 2" in high.message
    assert "s3://production/as_of=2026-12-01/accreditation_alerts.csv" in high.message
    assert high.attributes == {"priority": "high", "as_of": "2026-12-01", "scope": "all", "run_id": "run-1"}


def test_critical_digest_lists_lapsed_accreditations_marked_and_most_urgent_first(tmp_path):
    expiring = [result_row("EXP20", 20), result_row("EXP0", 0), result_row("EXP3", 3)]
    lapsed = [result_row("LAP5", -5), result_row("LAP40", -40)]
    event = write_inputs(tmp_path, expiring, lapsed)
    publisher = RecordingPublisher()

    summary = run(tmp_path, event, publisher)

    assert summary["lapsed"] == 2
    assert summary["alerts"]["critical"] == 3
    (critical,) = publisher.published
    # A first run: every entry is new, the lapsed ones newly lapsed.
    assert [(mark, fid) for mark, _, fid in listed_entries(critical.message)] == [
        ("NEWLY LAPSED", "LAP40"),
        ("NEWLY LAPSED", "LAP5"),
        ("NEW", "EXP0"),
        ("NEW", "EXP3"),
        ("NEW", "EXP20"),
    ]
    assert "3 expiring in 0-30 days, 2 lapsed" in critical.subject
    assert "s3://production/as_of=2026-12-01/lapsed_accreditations.csv" in critical.message
    # Lapsed accreditations are alert rows too, in the critical tier as in its digest.
    alerts = {row["facility_id"]: (row["priority"], row["change"]) for row in read_alerts(tmp_path)}
    assert alerts == {
        "EXP20": ("critical", "new"),
        "EXP0": ("critical", "new"),
        "EXP3": ("critical", "new"),
        "LAP5": ("critical", "newly_lapsed"),
        "LAP40": ("critical", "newly_lapsed"),
    }


def test_lapsed_only_run_still_sends_a_critical_digest(tmp_path):
    event = write_inputs(tmp_path, [], [result_row("LAP1", -1)])
    publisher = RecordingPublisher()

    summary = run(tmp_path, event, publisher)

    assert [d.key.id for d in publisher.published] == ["2026-12-01#critical#all"]
    assert summary["alerts"] == {"critical": 0, "high": 0, "medium": 0}
    assert summary["lapsed"] == 1


def test_no_alerts_means_no_messages_and_a_header_only_alerts_csv(tmp_path):
    event = write_inputs(tmp_path, [result_row("F1", 120)])
    publisher = RecordingPublisher()

    summary = run(tmp_path, event, publisher)

    assert publisher.published == []
    assert summary["messages_published"] == 0
    assert read_alerts(tmp_path) == []


def test_per_state_digests_only_for_listed_states_with_rows(tmp_path):
    rows = [result_row("TX1", 5, "TX"), result_row("CA1", 10, "CA"), result_row("NY1", 15, "NY")]
    rows += [result_row("TX2", 40, "TX")]
    event = write_inputs(tmp_path, rows, [result_row("CA9", -3, "CA")])
    policy = NotifierPolicy(30, 60, 90, state_digest_states=("TX", "CA", "FL"))
    publisher = RecordingPublisher()

    run(tmp_path, event, publisher, policy=policy)

    by_key = {d.key.id: d for d in publisher.published}
    assert list(by_key) == [
        "2026-12-01#critical#all",
        "2026-12-01#critical#state#CA",
        "2026-12-01#critical#state#TX",
        "2026-12-01#high#all",
        "2026-12-01#high#state#TX",
    ]
    california = by_key["2026-12-01#critical#state#CA"]
    assert california.attributes["state"] == "CA" and california.attributes["scope"] == "state"
    assert "CA1" in california.message and "CA9" in california.message
    assert "TX1" not in california.message and "NY1" not in california.message
    assert "[CRITICAL] CA " in california.subject


def test_subject_is_one_line_of_plain_ascii_within_the_limit():
    subject = plain_subject("[CRITICAL]\tAccreditations:\n é" + "x" * 200, 100)
    assert len(subject) == 100
    assert subject.isascii() and subject.isprintable()
    assert subject.endswith("...")


def test_long_state_names_keep_the_subject_within_100_characters(tmp_path):
    state = "A VERY LONG STATE NAME THAT NOBODY WOULD EVER TYPE " * 3
    event = write_inputs(tmp_path, [result_row("F1", 1, state.strip())])
    policy = NotifierPolicy(30, 60, 90, state_digest_states=(state,))
    publisher = RecordingPublisher()

    run(tmp_path, event, publisher, policy=policy)

    assert all(len(d.subject) <= 100 and "\n" not in d.subject for d in publisher.published)


def test_a_digest_beyond_the_size_limit_is_truncated_with_a_count_and_a_pointer(tmp_path):
    rows = [result_row(f"F{i:05d}", i % 31, name="Clinic " + "n" * 40) for i in range(3000)]
    random.Random(7).shuffle(rows)
    event = write_inputs(tmp_path, rows)
    policy = NotifierPolicy(30, 60, 90, message_max_bytes=8192)
    publisher = RecordingPublisher()

    run(tmp_path, event, publisher, policy=policy)

    (digest,) = publisher.published
    size = len(digest.message.encode()) + attributes_size(digest.attributes)
    assert size <= 8192
    assert size > 8192 - 200, "the budget is used, not wasted"
    assert digest.listed + digest.omitted == 3000
    # A first run: every entry is new, so the ones cut are counted as changed.
    omitted = digest.omitted
    assert f"... and {omitted} more not shown here ({omitted} of them changed) (message size limit)" in (
        digest.message
    )
    assert (
        "Full list of alerts: s3://production/as_of=2026-12-01/accreditation_alerts.csv\n" in digest.message
    )
    listed_days = [days for _, days, _ in listed_entries(digest.message)]
    assert len(listed_days) == digest.listed
    assert listed_days == sorted(listed_days) and listed_days[0] == 0


def test_the_accumulator_keeps_exactly_the_most_urgent_prefix_whatever_the_input_order():
    days = [random.Random(i).randint(-50, 30) for i in range(2000)]
    rows = [
        AccreditationRow(f"F{i:04d}", "name", "TX", "JC", f"A{i}", "2026-12-31", str(days[i]))
        for i in range(2000)
    ]
    lines = [digest_line(row, days[i], "LAPSED" if days[i] < 0 else "") for i, row in enumerate(rows)]
    expected_order = sorted(lines, key=lambda line: (int(line[13:].split()[0]), line))
    budget = 4000
    expected: list[str] = []
    used = 0
    for line in expected_order:
        if used + len(line.encode()) > budget:
            break
        expected.append(line)
        used += len(line.encode())
    for seed in range(3):
        order = list(range(2000))
        random.Random(seed).shuffle(order)
        accumulator = DigestAccumulator(budget)
        for i in order:
            accumulator.add(rows[i], days[i], lapsed=days[i] < 0)
        assert [line for _, line in accumulator.unchanged_lines.most_urgent_first()] == expected
        assert accumulator.total == 2000


# --- exactly once -------------------------------------------------------------------------------


def test_a_retry_after_a_partial_failure_publishes_only_what_is_missing(tmp_path):
    event = write_inputs(tmp_path, [result_row("F1", 5), result_row("F2", 45), result_row("F3", 75)])
    store = MemoryPublicationStore()
    failing = RecordingPublisher(fail_on=frozenset({"high"}))

    with pytest.raises(ConnectionError, match="high topic unavailable"):
        run(tmp_path, event, failing, store)
    assert [d.topic for d in failing.published] == ["critical"]

    healthy = RecordingPublisher()
    summary = run(tmp_path, event, healthy, store)
    assert [d.topic for d in healthy.published] == ["high", "medium"]
    assert (summary["messages_published"], summary["duplicates_skipped"]) == (2, 1)

    again = RecordingPublisher()
    summary = run(tmp_path, event, again, store)
    assert again.published == []
    assert (summary["messages_published"], summary["duplicates_skipped"]) == (0, 3)


# --- bad results --------------------------------------------------------------------------------


def test_a_missing_results_file_fails_and_leaves_no_alerts_csv(tmp_path):
    event = write_inputs(tmp_path, [result_row("F1", 5)])
    (tmp_path / "athena-results/lapsed/lapsed.csv").unlink()
    publisher = RecordingPublisher()

    with pytest.raises(ResultsNotFoundError, match=re.escape("s3://athena-results/lapsed/lapsed.csv")):
        run(tmp_path, event, publisher)

    assert publisher.published == []
    assert not (tmp_path / "athena-results/notifier/run-1/accreditation_alerts.csv").exists()
    assert list((tmp_path / "athena-results/notifier/run-1").iterdir()) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('"facility_id","state"\n"F1","TX"\n', "header lacks columns"),
        (
            '"facility_id","facility_name","state","accreditation_body","accreditation_id","valid_until",'
            '"days_until_expiry"\n"F1","n","TX","JC","A1","2026-12-02","soon"\n',
            "line 2: days_until_expiry is not an integer: 'soon'",
        ),
        (
            '"facility_id","facility_name","state","accreditation_body","accreditation_id","valid_until",'
            '"days_until_expiry"\n"F1","n","TX"\n',
            "line 2: 3 values, header has 7",
        ),
    ],
)
def test_malformed_results_fail_with_the_location_and_line(tmp_path, content, message):
    event = write_inputs(tmp_path, [])
    (tmp_path / "athena-results/stage2/expiring.csv").write_text(content, encoding="utf-8")

    with pytest.raises(MalformedResultsError, match=message):
        run(tmp_path, event, RecordingPublisher())


@pytest.mark.parametrize("empty_results", ["header only", "zero bytes"])
def test_a_day_with_no_rows_sends_nothing_and_writes_a_header_only_alerts_csv(tmp_path, empty_results):
    # Athena writes a header-only CSV for a query without rows; a zero-byte object reads as no rows too.
    event = write_inputs(tmp_path, [], [])
    if empty_results == "zero bytes":
        for name in ("stage2/expiring.csv", "lapsed/lapsed.csv"):
            (tmp_path / "athena-results" / name).write_bytes(b"")
    publisher = RecordingPublisher()

    summary = run(tmp_path, event, publisher)

    assert publisher.published == []
    assert (summary["expiring"], summary["lapsed"], summary["messages_published"]) == (0, 0, 0)
    assert summary["alerts"] == {"critical": 0, "high": 0, "medium": 0}
    alerts = tmp_path / "athena-results/notifier/run-1/accreditation_alerts.csv"
    assert alerts.read_text(encoding="utf-8").splitlines() == [
        ",".join(f'"{column}"' for column in ALERTS_COLUMNS)
    ]


def test_negative_days_in_stage2_or_non_negative_days_in_lapsed_results_fail_loudly(tmp_path):
    event = write_inputs(tmp_path, [result_row("F1", -2)])
    with pytest.raises(MalformedResultsError, match="negative days_until_expiry -2 in AccreditationRow"):
        run(tmp_path, event, RecordingPublisher())

    event = write_inputs(tmp_path, [], [result_row("F2", 0)])
    with pytest.raises(MalformedResultsError, match="lapsed row with days_until_expiry 0 >= 0"):
        run(tmp_path, event, RecordingPublisher())


def test_null_values_and_quotes_survive_into_the_alerts_csv(tmp_path):
    row = result_row("F1", 3, name='St. "Mary" Clinic, North') | {"accreditation_body": None}
    event = write_inputs(tmp_path, [row])

    run(tmp_path, event, RecordingPublisher())

    (alert,) = read_alerts(tmp_path)
    assert alert["facility_name"] == 'St. "Mary" Clinic, North'
    assert alert["accreditation_body"] == ""
    assert alert["valid_until"] == (AS_OF + dt.timedelta(days=3)).isoformat()


def traced_peak(out_dir: Path, row_count: int) -> tuple[int, int, dict]:
    """(tracemalloc peak of one core run, size of the expiring results file, summary)."""
    path = out_dir / "athena-results/stage2/expiring.csv"
    states = ("TX", "CA", "FL", "NY", "WA")
    write_results(path, (result_row(f"F{i:06d}", i % 184, states[i % 5]) for i in range(row_count)))
    write_results(out_dir / "athena-results/lapsed/lapsed.csv", [result_row("L1", -1)])
    tracemalloc.start()
    try:
        summary = run(out_dir, local_event(out_dir), RecordingPublisher())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, path.stat().st_size, summary


def test_memory_stays_flat_on_100k_rows(tmp_path):
    """GIVEN 25k then 100k expiring rows WHEN the core runs THEN the peak does not grow with the rows."""
    small_peak, _, _ = traced_peak(tmp_path / "small", 25_000)
    large_peak, large_bytes, summary = traced_peak(tmp_path / "large", 100_000)

    assert sum(summary["alerts"].values()) == sum(1 for i in range(100_000) if i % 184 <= 90)
    assert large_peak < small_peak * 1.25, (small_peak, large_peak)
    assert large_peak < large_bytes / 2, (large_peak, large_bytes)
