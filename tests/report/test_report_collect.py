"""Collecting the report's inputs from a production folder: counts, marks, top of each list, weeks, trend."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from accreditation_report import collect
from accreditation_report.collect import TopEntries, collect_report_inputs, window_end
from accreditation_report.model import (
    ALERTS_COLUMNS,
    RESULT_COLUMNS,
    STATES_COLUMNS,
    InvalidEventError,
    MalformedReportInputError,
    ReportInputNotFoundError,
    ReportPolicy,
    ReportRequest,
    TierCount,
)
from report_testkit import AS_OF, athena_csv, local_event

from pipeline.local.report_adapters import LocalReportReader


def collect_from(out: Path, event: dict[str, object], policy: ReportPolicy | None = None):
    return collect_report_inputs(LocalReportReader(out), ReportRequest.from_event(event), policy)


def test_headline_counts_each_tier_with_its_new_and_escalated_entries(out, event):
    headline = collect_from(out, event).headline

    assert headline.tiers == {
        "critical": TierCount(total=3, new=1, escalated=1),
        "high": TierCount(total=2, new=0, escalated=1),
        "medium": TierCount(total=2, new=1, escalated=0),
    }
    assert (headline.lapsed, headline.newly_lapsed) == (2, 1)
    assert headline.resolved == 2
    assert headline.resolved_by_resolution == {"no_longer_due": 1, "renewed": 1}
    assert headline.expiring_in_window == 9
    assert (headline.facilities, headline.accredited_facilities) == (11, 8)


def test_most_urgent_entries_come_lapsed_first_then_by_days_with_their_marks(out, event):
    urgent = collect_from(out, event).urgent

    assert [(entry.facility_id, entry.days_until_expiry, entry.mark) for entry in urgent.entries] == [
        ("F-LAPSED-OLD", -400, "LAPSED"),
        ("F-NEWLAPSE", -1, "NEWLY LAPSED"),
        ("F-CRIT-NEW", 3, "NEW"),
        ("F-CRIT-ESC", 25, "ESCALATED"),
        ("F-CRIT", 30, ""),
        ("F-HIGH-ESC", 45, "ESCALATED"),
        ("F-HIGH", 60, ""),
        ("F-MED-NEW", 61, "NEW"),
        ("F-MED", 90, ""),
    ]
    assert urgent.omitted == 0
    by_id = {entry.facility_id: entry for entry in urgent.entries}
    # Athena's quoting is undone, and a NULL reads as an empty string.
    assert by_id["F-CRIT-ESC"].facility_name == 'St. Mary\'s "East", Annex'
    assert by_id["F-CRIT"].facility_name == ""
    assert by_id["F-NEWLAPSE"].state == ""


def test_changed_entries_list_only_new_escalated_and_newly_lapsed(out, event):
    changed = collect_from(out, event).changed

    assert [entry.facility_id for entry in changed.entries] == [
        "F-NEWLAPSE",
        "F-CRIT-NEW",
        "F-CRIT-ESC",
        "F-HIGH-ESC",
        "F-MED-NEW",
    ]


def test_only_the_top_entries_are_kept_and_the_rest_is_counted(out, event, monkeypatch):
    monkeypatch.setattr(collect, "URGENT_ENTRIES", 3)
    monkeypatch.setattr(collect, "CHANGED_ENTRIES", 2)

    inputs = collect_from(out, event)

    assert [entry.facility_id for entry in inputs.urgent.entries] == [
        "F-LAPSED-OLD",
        "F-NEWLAPSE",
        "F-CRIT-NEW",
    ]
    assert inputs.urgent.omitted == 6
    assert [entry.facility_id for entry in inputs.changed.entries] == ["F-NEWLAPSE", "F-CRIT-NEW"]
    assert inputs.changed.omitted == 3


def test_top_entries_keeps_the_smallest_keys_in_bounded_memory():
    top: TopEntries[int] = TopEntries(5)
    for value in [(n * 7919) % 1000 for n in range(1000)]:
        top.offer(value, value)
        assert len(top._candidates) < 10

    listing = top.listing()

    assert listing.entries == (0, 1, 2, 3, 4)
    assert listing.omitted == 995


def test_weekly_buckets_span_the_whole_window_by_iso_week_and_tier(out, event):
    weeks = collect_from(out, event).weeks

    assert weeks[0].week_start == dt.date(2026, 11, 30)  # the Monday of the as-of's week
    assert weeks[-1].week_start == dt.date(2027, 5, 31)  # the week of the window's last day, 2027-06-01
    assert len(weeks) == 27
    assert all(week.week_start.weekday() == 0 for week in weeks)
    non_empty = {
        week.label: {tier: n for tier, n in week.counts.items() if n}
        for week in weeks
        if any(week.counts.values())
    }
    assert non_empty == {
        "2026-W49": {"critical": 1},
        "2026-W52": {"critical": 1},
        "2026-W53": {"critical": 1},
        "2027-W02": {"high": 1},
        "2027-W04": {"high": 1, "medium": 1},
        "2027-W09": {"medium": 1},
        "2027-W13": {"later": 1},
        "2027-W22": {"later": 1},
    }


def test_weekly_tiers_follow_the_policy(out, event):
    weeks = collect_from(
        out, event, ReportPolicy(critical_max_days=3, high_max_days=30, medium_max_days=60)
    ).weeks

    totals = {
        tier: sum(week.counts[tier] for week in weeks) for tier in ("critical", "high", "medium", "later")
    }
    assert totals == {"critical": 1, "high": 2, "medium": 2, "later": 4}


@pytest.mark.parametrize(
    ("as_of", "end"),
    [
        (dt.date(2026, 12, 1), dt.date(2027, 6, 1)),
        (dt.date(2026, 8, 31), dt.date(2027, 2, 28)),
        (dt.date(2027, 8, 31), dt.date(2028, 2, 29)),
    ],
)
def test_the_window_ends_six_months_later_with_the_end_of_month_clamped(as_of, end):
    assert window_end(as_of, 6) == end


def test_trend_reads_earlier_runs_report_data_and_ends_with_this_run(out, event):
    inputs = collect_from(out, event)

    assert [(point.as_of.isoformat(), point.counts) for point in inputs.trend] == [
        ("2026-11-29", {"critical": 2, "high": 2, "medium": 1, "lapsed": 1}),
        ("2026-11-30", {"critical": 1, "high": 3, "medium": 2, "lapsed": 1}),
        ("2026-12-01", {"critical": 3, "high": 2, "medium": 2, "lapsed": 2}),
    ]
    # as_of=2026-11-28 holds a truncated file; as_of=2026-12-02 is later than this run and not read.
    assert inputs.unreadable_previous_runs == 1


def test_trend_holds_at_most_90_runs_with_this_one_last(out, event):
    production = out / "production"
    for offset in range(1, 120):
        day = AS_OF - dt.timedelta(days=offset)
        folder = production / f"as_of={day}"
        folder.mkdir(exist_ok=True)
        counts = {"critical": offset, "high": 0, "medium": 0, "lapsed": 0}
        (folder / "report_data.json").write_text(json.dumps({"as_of": day.isoformat(), "counts": counts}))

    trend = collect_from(out, event).trend

    assert len(trend) == 90
    assert trend[-1].as_of == AS_OF
    assert trend[0].as_of == AS_OF - dt.timedelta(days=89)
    assert [point.as_of for point in trend] == sorted(point.as_of for point in trend)


def test_a_missing_resolved_file_is_nothing_resolved(out, event):
    (out / "production" / "as_of=2026-12-01" / "resolved_accreditations.csv").unlink()

    inputs = collect_from(out, event)

    assert inputs.headline.resolved == 0
    assert inputs.resolved.entries == ()


def test_header_only_and_zero_byte_results_are_no_rows(out, event):
    folder = out / "production" / "as_of=2026-12-01"
    (folder / "accreditation_alerts.csv").write_text(athena_csv((*ALERTS_COLUMNS, "change"), []))
    (folder / "expiring_accreditations.csv").write_text(athena_csv(RESULT_COLUMNS, []))
    (folder / "lapsed_accreditations.csv").write_text("")
    (folder / "facilities_by_state.csv").write_text(athena_csv(STATES_COLUMNS, []))
    (folder / "resolved_accreditations.csv").write_text("")

    inputs = collect_from(out, event)

    assert inputs.headline.tiers == {tier: TierCount() for tier in ("critical", "high", "medium")}
    assert (inputs.headline.lapsed, inputs.headline.resolved, inputs.headline.facilities) == (0, 0, 0)
    assert inputs.urgent.entries == inputs.changed.entries == inputs.states.entries == ()
    assert len(inputs.weeks) == 27
    assert not any(any(week.counts.values()) for week in inputs.weeks)


def test_alerts_written_before_change_marks_read_as_unchanged(out, event):
    folder = out / "production" / "as_of=2026-12-01"
    row = ("F1", "One", "TX", "DNV", "D1", "2026-12-05", "4", "critical")
    (folder / "accreditation_alerts.csv").write_text(athena_csv(ALERTS_COLUMNS, [row]))

    inputs = collect_from(out, event)

    assert inputs.headline.tiers["critical"] == TierCount(total=1)
    assert [entry.mark for entry in inputs.urgent.entries] == [""]


def test_data_quality_comes_from_the_curation_report_largest_first(out, event):
    quality = collect_from(out, event).data_quality

    assert quality.available
    assert (quality.input_lines, quality.curated, quality.quarantined, quality.data_quality_issues) == (
        113,
        105,
        5,
        5,
    )
    assert quality.quarantine_reasons.entries == (
        ("not a JSON object", 3),
        ("facility_id missing or blank", 2),
    )
    assert quality.issue_kinds is not None
    assert quality.issue_kinds.entries == (
        ("valid_until: not a YYYY-MM-DD date", 3),
        ("employee_count: negative", 2),
    )
    assert quality.unknown_fields.entries == (("ownership_type", 1),)


def test_a_curation_report_without_issue_kinds_or_none_at_all(out, event):
    report_path = out / "curated" / "curation_report.json"
    report = json.loads(report_path.read_text())
    del report["issue_kinds"]
    report_path.write_text(json.dumps(report))

    assert collect_from(out, event).data_quality.issue_kinds is None
    assert not collect_from(out, {**event, "curation_report": None}).data_quality.available
    assert not collect_from(
        out, {**event, "curation_report": str(out / "nowhere.json")}
    ).data_quality.available


def test_a_missing_result_file_or_a_wrong_header_fails_by_name(out, event):
    folder = out / "production" / "as_of=2026-12-01"
    (folder / "expiring_accreditations.csv").unlink()
    with pytest.raises(ReportInputNotFoundError, match=r"expiring_accreditations\.csv"):
        collect_from(out, event)

    (folder / "expiring_accreditations.csv").write_text('"facility_id","valid_until"\n')
    with pytest.raises(MalformedReportInputError, match="lacks columns"):
        collect_from(out, event)


def test_a_value_that_is_not_a_number_fails_with_its_line(out, event):
    folder = out / "production" / "as_of=2026-12-01"
    row = ("F1", "One", "TX", "DNV", "D1", "2026-12-05", "soon", "critical")
    (folder / "accreditation_alerts.csv").write_text(athena_csv(ALERTS_COLUMNS, [row]))

    with pytest.raises(MalformedReportInputError, match="line 2: days_until_expiry"):
        collect_from(out, event)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"as_of": "2026-02-30"}, "as_of"),
        ({"production_location": "/out/production/as_of=2026-11-30/"}, "production_location"),
        ({"previous_as_of": "2026-12-01"}, "previous_as_of"),
        ({"latest_location": ""}, "latest_location"),
    ],
)
def test_an_invalid_event_is_refused_by_field(tmp_path, change, problem):
    with pytest.raises(InvalidEventError, match=problem):
        ReportRequest.from_event({**local_event(tmp_path), **change})
