"""The report on the local twin: the same core with folder adapters, both copies, the trend across runs."""

from __future__ import annotations

import datetime as dt
import json
import shutil

from report_testkit import local_event

from pipeline.local.report_adapters import report_locally
from pipeline.settings import AlertPolicy


def test_a_local_run_writes_the_report_to_its_folder_and_to_latest(out, event):
    summary = report_locally(event, out, AlertPolicy())

    production = out / "production"
    assert summary["report"] == f"{production}/as_of=2026-12-01/report.html"
    for folder in (production / "as_of=2026-12-01", production / "latest"):
        assert "F-LAPSED-OLD" in (folder / "report.html").read_text(encoding="utf-8")
        assert json.loads((folder / "report_data.json").read_text())["run_id"] == "run-1201"
    assert not list(production.rglob(".report*"))  # no temporary file left behind


def test_the_next_local_run_trends_over_this_one(out, event):
    report_locally(event, out, AlertPolicy())
    production = out / "production"
    next_day = production / "as_of=2026-12-03"
    next_day.mkdir()
    for name in (
        "accreditation_alerts",
        "expiring_accreditations",
        "lapsed_accreditations",
        "facilities_by_state",
    ):
        shutil.copy(production / "as_of=2026-12-01" / f"{name}.csv", next_day)

    summary = report_locally(
        local_event(out, as_of=dt.date(2026, 12, 3), previous_as_of=dt.date(2026, 12, 1)), out, AlertPolicy()
    )

    assert summary["trend_runs"] == 5  # 11-29, 11-30, 12-01, 12-02 and this run (11-28 is unreadable)
    data = json.loads((production / "latest" / "report_data.json").read_text())
    assert data["as_of"] == "2026-12-03"


def test_the_policy_of_the_local_run_sets_the_tiers(out, event):
    report_locally(event, out, AlertPolicy(critical_max_days=3, high_max_days=30, medium_max_days=60))

    page = (out / "production" / "latest" / "report.html").read_text(encoding="utf-8")
    assert "critical (0-3 days)" in page and "later (61+ days)" in page
