"""Change-aware digests: marks against the previous published run, the resolved section, unchanged digests."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest
from accreditation_notifier.changes import production_root
from accreditation_notifier.core import run_notifier
from accreditation_notifier.model import (
    ALERTS_COLUMNS,
    MalformedResultsError,
    NotifierPolicy,
    NotifierRequest,
)
from accreditation_notifier.publication import PublicationRecords
from notifier_testkit import AS_OF, local_event, result_row, write_results
from test_notifier_core import RecordingPublisher, listed_entries

from pipeline.local.notifier_adapters import LocalAlertsWriter, LocalResultsReader
from pipeline.local.publication_records import MemoryPublicationStore

PREVIOUS_AS_OF = AS_OF - dt.timedelta(days=1)
POLICY = NotifierPolicy(30, 60, 90, state_digest_states=("TX", "CA"))


def previous_alert(facility_id: str, days_then: int, priority: str, state: str = "TX", **kwargs) -> list[str]:
    """A row of the previous run's published alerts CSV; days are counted from that run's as-of."""
    row = result_row(facility_id, days_then - 1, state, **kwargs)  # result_row counts from AS_OF
    return [*(row[c] or "" for c in ALERTS_COLUMNS[:-3]), str(days_then), priority, ""]


def publish_previous(out_dir: Path, as_of: dt.date, rows: list[list[str]]) -> Path:
    path = out_dir / f"production/as_of={as_of.isoformat()}/accreditation_alerts.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as output:
        writer = csv.writer(output, quoting=csv.QUOTE_ALL)
        writer.writerow(ALERTS_COLUMNS)
        writer.writerows(rows)
    return path


def run(out_dir: Path, policy: NotifierPolicy = POLICY, run_id: str = "run-1"):
    publisher = RecordingPublisher()
    summary = run_notifier(
        NotifierRequest.from_event(local_event(out_dir, run_id)),
        policy,
        reader=LocalResultsReader(out_dir),
        alerts_writer=LocalAlertsWriter(out_dir),
        publisher=publisher,
        records=PublicationRecords(MemoryPublicationStore()),
    )
    return summary, {digest.key.id: digest for digest in publisher.published}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as source:
        return list(csv.DictReader(source))


@pytest.fixture
def two_days(tmp_path: Path) -> Path:
    """Day 1 published; day 2's results: one enters critical, one escalates, one renews, one lapses."""
    publish_previous(
        tmp_path,
        PREVIOUS_AS_OF,
        [
            previous_alert("A", 10, "critical"),  # still critical: unmarked
            previous_alert("B", 62, "medium"),  # now 59 days: escalated to high
            previous_alert("D", 45, "high", "CA"),  # renewed: a later date from the same body
            previous_alert("E", 0, "critical"),  # expired yesterday without renewal: newly lapsed
            previous_alert("F", -5, "critical"),  # lapsed then and now
            previous_alert("G", 80, "medium"),  # gone from every list: no longer due
        ],
    )
    expiring = [
        result_row("A", 9),
        result_row("B", 59),
        result_row("C", 20),  # new in critical
        result_row("D", 150, "CA"),  # D's renewal, beyond every tier but inside the 6-month window
    ]
    write_results(tmp_path / "athena-results/stage2/expiring.csv", expiring)
    write_results(tmp_path / "athena-results/lapsed/lapsed.csv", [result_row("E", -1), result_row("F", -6)])
    return tmp_path


def test_each_entry_is_marked_against_the_previous_run(two_days):
    summary, digests = run(two_days)

    critical = digests["2026-12-01#critical#all"]
    assert listed_entries(critical.message) == [
        ("LAPSED", -6, "F"),
        ("NEWLY LAPSED", -1, "E"),
        ("", 9, "A"),
        ("NEW", 20, "C"),
    ]
    assert critical.subject == (
        "[CRITICAL] 1 new, 1 newly lapsed - 2 expiring in 0-30 days, 2 lapsed (as of 2026-12-01)"
    )
    assert "Changes since the run of as-of 2026-11-30: 1 new, 1 newly lapsed." in critical.message
    assert critical.message.endswith("RESOLVED since 2026-11-30: 0\n")
    high = digests["2026-12-01#high#all"]
    assert listed_entries(high.message) == [("ESCALATED", 59, "B")]
    assert high.subject == "[HIGH] 1 escalated, 1 resolved - 1 expiring in 31-60 days (as of 2026-12-01)"
    assert summary["previous_as_of"] == "2026-11-30"
    assert summary["changes"] == {
        "critical": {"new": 1, "escalated": 0, "newly_lapsed": 1, "resolved": 0},
        "high": {"new": 0, "escalated": 1, "newly_lapsed": 0, "resolved": 1},
        "medium": {"new": 0, "escalated": 0, "newly_lapsed": 0, "resolved": 1},
    }


def test_resolved_entries_end_their_tiers_digest_with_the_reason(two_days):
    _, digests = run(two_days)

    high = digests["2026-12-01#high#all"]
    resolved_section = high.message.split("RESOLVED since 2026-11-30: 1\n", 1)[1]
    renewal = (AS_OF + dt.timedelta(days=150)).isoformat()
    assert resolved_section.startswith("  D  D Clinic  [Joint Commission D-JO]  was HIGH, valid until ")
    assert f"renewed (Joint Commission now valid until {renewal})" in resolved_section
    # A tier with nothing left but a resolved entry still tells its subscribers.
    medium = digests["2026-12-01#medium#all"]
    assert medium.subject == "[MEDIUM] 1 resolved - 0 expiring in 61-90 days (as of 2026-12-01)"
    assert "  G  G Clinic  [Joint Commission G-JO]  was MEDIUM" in medium.message
    assert "no longer due" in medium.message


def test_state_digests_carry_the_same_marks_and_their_states_resolved_entries(two_days):
    _, digests = run(two_days)

    texas = digests["2026-12-01#critical#state#TX"]
    assert ("NEW", 20, "C") in listed_entries(texas.message)
    assert texas.subject.startswith("[CRITICAL] TX 1 new, 1 newly lapsed - ")
    california = digests["2026-12-01#high#state#CA"]
    assert listed_entries(california.message) == []
    assert "RESOLVED since 2026-11-30: 1\n  D  D Clinic" in california.message


def test_the_csvs_carry_the_change_and_the_resolved_alerts(two_days):
    summary, _ = run(two_days)

    alerts = read_csv(Path(two_days / "athena-results/notifier/run-1/accreditation_alerts.csv"))
    assert {row["facility_id"]: (row["priority"], row["change"]) for row in alerts} == {
        "A": ("critical", ""),
        "B": ("high", "escalated"),
        "C": ("critical", "new"),
        "E": ("critical", "newly_lapsed"),
        "F": ("critical", ""),
    }
    resolved = read_csv(two_days / "athena-results/notifier/run-1/resolved_accreditations.csv")
    assert [(row["facility_id"], row["previous_priority"], row["resolution"]) for row in resolved] == [
        ("D", "high", "renewed"),
        ("G", "medium", "no_longer_due"),
    ]
    assert summary["resolved_output"].endswith("notifier/run-1/resolved_accreditations.csv")


def test_a_rerun_compares_with_the_as_of_before_and_gives_the_same_digests(two_days):
    _, first = run(two_days)
    # The first run's alerts are now published for this as-of too; the rerun must not compare with them.
    shutil.copytree(
        two_days / "athena-results/notifier/run-1", two_days / f"production/as_of={AS_OF.isoformat()}"
    )

    summary, again = run(two_days, run_id="run-1")

    assert summary["previous_as_of"] == "2026-11-30"
    assert {key: (d.subject, d.message) for key, d in again.items()} == {
        key: (d.subject, d.message) for key, d in first.items()
    }


def test_the_latest_published_run_is_the_previous_one_and_unpublished_folders_are_skipped(two_days):
    # A later failed run left a folder without alerts; an older run is further back.
    (two_days / "production/as_of=2026-11-30T/").mkdir(parents=True)
    (two_days / "production/as_of=2026-11-29").mkdir(parents=True)
    (two_days / "production/as_of=2026-11-30" / "accreditation_alerts.csv").rename(
        two_days / "production/as_of=2026-11-29/accreditation_alerts.csv"
    )
    (two_days / "production/latest").mkdir()

    summary, _ = run(two_days)

    assert summary["previous_as_of"] == "2026-11-29"


def test_a_first_run_marks_everything_new_and_says_why(two_days):
    shutil.rmtree(two_days / "production")

    summary, digests = run(two_days)

    critical = digests["2026-12-01#critical#all"]
    assert summary["previous_as_of"] is None
    assert "First run: there is no earlier run to compare with, so every entry is marked NEW." in (
        critical.message
    )
    assert critical.subject.startswith("[CRITICAL] first run - ")
    assert {mark for mark, _, _ in listed_entries(critical.message)} == {"NEW", "NEWLY LAPSED"}
    assert "RESOLVED" not in critical.message


def test_unchanged_digests_are_not_sent_when_the_setting_says_so(two_days):
    # GIVEN day 1 alerted on exactly what day 2 alerts on, in the same tiers
    run(two_days)
    shutil.copy(
        two_days / "athena-results/notifier/run-1/accreditation_alerts.csv",
        two_days / "production/as_of=2026-11-30/accreditation_alerts.csv",
    )
    quiet = dataclasses.replace(POLICY, send_unchanged_digests=False)

    # WHEN day 2 runs with sendUnchangedDigests false THEN nothing is sent, and the summary says which
    summary, digests = run(two_days, quiet, run_id="run-2")
    _, loud = run(two_days, POLICY, run_id="run-3")

    assert digests == {}
    assert summary["messages_published"] == 0
    assert sorted(summary["unchanged_digests_not_sent"]) == sorted(loud)
    assert all("no change - " in digest.subject for digest in loud.values())


def test_a_previous_alerts_file_without_the_expected_columns_fails_loudly(two_days):
    (two_days / "production/as_of=2026-11-30/accreditation_alerts.csv").write_text('"facility_id"\n"A"\n')

    with pytest.raises(MalformedResultsError, match="header lacks columns"):
        run(two_days)


def test_production_root_is_the_folder_of_every_as_of():
    assert production_root("s3://bucket/prefix/as_of=2026-12-01/") == "s3://bucket/prefix/"
    with pytest.raises(ValueError, match="as_of=YYYY-MM-DD"):
        production_root("s3://bucket/latest/")
