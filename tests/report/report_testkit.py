"""Builders the report tests share: the hand-written production folder, events, Athena-style CSV text."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

AS_OF = dt.date(2026, 12, 1)
DATA = Path(__file__).resolve().parent.parent / "data" / "report"
FIXTURE_PRODUCTION = DATA / "production"
FIXTURE_CURATION_REPORT = DATA / "curated" / "curation_report.json"


def copy_fixture(tmp_path: Path) -> Path:
    """A writable copy of the hand-written out folder (production/, curated/); no test writes the repo."""
    out = tmp_path / "out"
    shutil.copytree(DATA, out)
    return out


def local_event(out: Path, as_of: dt.date = AS_OF, previous_as_of: dt.date | None = dt.date(2026, 11, 30)):
    production = out / "production"
    return {
        "as_of": as_of.isoformat(),
        "run_id": f"run-{as_of:%m%d}",
        "production_location": f"{production}/as_of={as_of}/",
        "latest_location": f"{production}/latest/",
        "curation_report": str(out / "curated" / "curation_report.json"),
        "previous_as_of": previous_as_of.isoformat() if previous_as_of else None,
    }


def athena_csv(columns: Sequence[str], rows: Iterable[Sequence[str | None]]) -> str:
    """Athena's CSV: header, every value double-quoted, NULL as an empty unquoted field."""

    def quote(value: str | None) -> str:
        return "" if value is None else '"' + value.replace('"', '""') + '"'

    lines = [",".join(quote(column) for column in columns)]
    lines += [",".join(quote(value) for value in row) for row in rows]
    return "\n".join(lines) + "\n"


def write_production_at_scale(folder: Path, as_of: dt.date = AS_OF, facilities: int = 1_000_000) -> None:
    """Result files of the size a registry of `facilities` gives: about 15% of them expire within six months.

    Every list is far longer than what the report keeps, and every name is long, so the page is as large
    as a run of this scale can make it.
    """
    from accreditation_report.model import ALERTS_COLUMNS, RESOLVED_COLUMNS, RESULT_COLUMNS, STATES_COLUMNS

    folder.mkdir(parents=True, exist_ok=True)
    states = [f"S{n:02d}" for n in range(60)]
    changes = ("", "", "", "new", "escalated")

    def result(n: int, days: int) -> list[str]:
        return [
            f"FAC-{n:07d}",
            f"Facility number {n:07d} of the regional healthcare network, outpatient campus",
            states[n % len(states)],
            ("Joint Commission", "DNV", "CARF", "AAAHC")[n % 4],
            f"ACC-{n:07d}-{n % 97:02d}",
            (as_of + dt.timedelta(days=days)).isoformat(),
            str(days),
        ]

    expiring = [result(n, n % 184) for n in range(facilities * 15 // 100)]
    lapsed = [result(n, -1 - n % 700) for n in range(facilities // 50)]
    alerts = [
        [*row, "critical" if int(row[6]) <= 30 else "high" if int(row[6]) <= 60 else "medium", changes[n % 5]]
        for n, row in enumerate(expiring)
        if int(row[6]) <= 90
    ]
    alerts += [[*row, "critical", "newly_lapsed" if n % 10 == 0 else ""] for n, row in enumerate(lapsed)]
    resolved = [
        [*result(n, 400)[:6], "critical", "renewed", "valid until 2028-01-05"]
        for n in range(facilities // 100)
    ]
    by_state = [[state, str(facilities // 60), str(facilities // 75)] for state in states]
    (folder / "expiring_accreditations.csv").write_text(athena_csv(RESULT_COLUMNS, expiring))
    (folder / "lapsed_accreditations.csv").write_text(athena_csv(RESULT_COLUMNS, lapsed))
    (folder / "accreditation_alerts.csv").write_text(athena_csv((*ALERTS_COLUMNS, "change"), alerts))
    (folder / "resolved_accreditations.csv").write_text(athena_csv(RESOLVED_COLUMNS, resolved))
    (folder / "facilities_by_state.csv").write_text(athena_csv(STATES_COLUMNS, by_state))


def inputs_at_scale(facilities: int = 1_000_000):
    """The aggregates of a run over `facilities` facilities, every list at the length the report keeps."""
    from accreditation_report import model as m

    long_name = "Facility number {n:07d} of the regional healthcare network, outpatient campus"
    states = [m.StateCount(f"S{n:02d}", facilities // 60, facilities // 75) for n in range(60)]

    def alert(n: int, change: str) -> m.AlertEntry:
        days = n % 120 - 30
        return m.AlertEntry(
            facility_id=f"FAC-{n:07d}",
            facility_name=long_name.format(n=n),
            state=f"S{n % 60:02d}",
            accreditation_body="Joint Commission",
            accreditation_id=f"ACC-{n:07d}-{n % 97:02d}",
            valid_until=(AS_OF + dt.timedelta(days=days)).isoformat(),
            days_until_expiry=days,
            priority="critical" if days <= 30 else "high" if days <= 60 else "medium",
            change=change,
        )

    resolved = tuple(
        m.ResolvedEntry(
            f"FAC-{n:07d}",
            long_name.format(n=n),
            "S01",
            "DNV",
            f"ACC-{n:07d}",
            "2029-12-01",
            "critical",
            "renewed",
            "valid until 2029-12-01",
        )
        for n in range(m.RESOLVED_ENTRIES)
    )
    kinds = m.Listing(
        entries=tuple((f"field_{n:02d}: a problem described at some length", 1000 - n) for n in range(40)),
        omitted=200,
    )
    tiers = {
        tier: m.TierCount(total=facilities // 40, new=facilities // 400, escalated=facilities // 800)
        for tier in m.ALERT_TIERS
    }
    return m.ReportInputs(
        as_of=AS_OF,
        run_id="2026-12-01T06:00:00Z-0123456789abcdef",
        previous_as_of=AS_OF - dt.timedelta(days=1),
        policy=m.ReportPolicy(),
        headline=m.Headline(
            tiers=tiers,
            lapsed=facilities // 50,
            newly_lapsed=facilities // 500,
            resolved=facilities // 100,
            resolved_by_resolution={"no_longer_due": facilities // 300, "renewed": facilities // 150},
            expiring_in_window=facilities * 15 // 100,
            facilities=facilities,
            accredited_facilities=facilities * 4 // 5,
        ),
        weeks=tuple(
            m.WeekBucket(dt.date(2026, 11, 30) + dt.timedelta(weeks=n), dict.fromkeys(m.WINDOW_TIERS, 1500))
            for n in range(27)
        ),
        states=m.Listing(entries=tuple(states)),
        urgent=m.Listing(
            entries=tuple(alert(n, ("", "new", "escalated")[n % 3]) for n in range(m.URGENT_ENTRIES)),
            omitted=facilities // 10,
        ),
        changed=m.Listing(entries=tuple(alert(n, "new") for n in range(m.CHANGED_ENTRIES)), omitted=5000),
        resolved=m.Listing(entries=resolved, omitted=facilities // 100),
        trend=tuple(
            m.TrendPoint(
                AS_OF - dt.timedelta(days=89 - n),
                {"critical": 25_000 + n, "high": 25_000, "medium": 25_000 - n, "lapsed": 20_000},
            )
            for n in range(m.TREND_RUNS)
        ),
        unreadable_previous_runs=0,
        data_quality=m.DataQuality(
            available=True,
            input_lines=facilities + 5000,
            curated=facilities,
            quarantined=2000,
            facilities=facilities,
            data_quality_issues=12_000,
            quarantine_reasons=kinds,
            issue_kinds=kinds,
            unknown_fields=kinds,
        ),
        locations=m.ReportLocations(
            production="s3://example-production/as_of=2026-12-01/",
            latest="s3://example-production/latest/",
            curation_report="s3://example-curated/_reports/snapshot_date=2026-12-01/curation_report.json",
        ),
    )
