"""Two local runs on one out folder: day 2's digests, CSVs and report say what changed since day 1."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "e2e"
DAY_1, DAY_2 = "2026-11-30", "2026-12-01"


def _run(out: Path, day_file: str, as_of: str, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pipeline", "run", "--input", str(DATA / day_file), "--as-of", as_of]
    result = subprocess.run(
        [*command, "--out", str(out), *extra], capture_output=True, text=True, timeout=600, cwd=REPO
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def two_days(tmp_path_factory):
    # GIVEN day 1, THEN day 2 where one facility enters critical (new), one moves medium -> high, one
    # accreditation is renewed by the same body and one lapses.
    out = tmp_path_factory.mktemp("two-days") / "out"
    _run(out, "two_days_day1.ndjson", DAY_1)
    day_2 = _run(out, "two_days_day2.ndjson", DAY_2)
    return out, day_2


def _digest(out: Path, tier: str) -> dict:
    return json.loads((out / "notifications" / f"{DAY_2}.{tier}.all.json").read_text(encoding="utf-8"))


def _production_rows(out: Path, name: str) -> list[dict[str, str]]:
    with open(out / "production" / f"as_of={DAY_2}" / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _without_run_id(message: str) -> str:
    return "\n".join(line for line in message.splitlines() if not line.startswith("Run: "))


def _marks(message: str) -> dict[str, str]:
    """{facility id: mark} of the listed lines of a digest."""
    marks = {}
    for line in message.splitlines():
        rest = line[13:].split()
        if len(rest) > 4 and rest[1] == "days":
            marks[rest[4]] = line[:12].strip()
    return marks


def test_the_digests_mark_what_changed_since_day_one(two_days):
    out, _ = two_days

    critical, high = _digest(out, "critical"), _digest(out, "high")

    assert _marks(critical["message"]) == {
        "TWO-LAPSE": "NEWLY LAPSED",
        "TWO-NEW": "NEW",
        "TWO-STAY": "",
    }
    assert critical["subject"].startswith("[CRITICAL] 1 new, 1 newly lapsed, 1 resolved - ")
    assert f"Changes since the run of as-of {DAY_1}" in critical["message"]
    resolved = critical["message"].split(f"RESOLVED since {DAY_1}: 1\n", 1)[1]
    assert resolved.startswith("  TWO-RENEW  Renews Clinic  [Joint Commission JC-RENEW]  was CRITICAL")
    assert "renewed (Joint Commission now valid until 2027-03-15)" in resolved
    assert _marks(high["message"]) == {"TWO-ESC": "ESCALATED"}
    assert high["subject"].startswith("[HIGH] 1 escalated - ")


def test_the_alerts_csv_carries_the_change_and_the_resolved_csv_the_renewal(two_days):
    out, _ = two_days

    alerts = {
        row["facility_id"]: (row["priority"], row["change"])
        for row in _production_rows(out, "accreditation_alerts.csv")
    }
    resolved = _production_rows(out, "resolved_accreditations.csv")

    assert alerts == {
        "TWO-STAY": ("critical", ""),
        "TWO-NEW": ("critical", "new"),
        "TWO-ESC": ("high", "escalated"),
        "TWO-LAPSE": ("critical", "newly_lapsed"),
    }
    assert [(r["facility_id"], r["previous_priority"], r["resolution"]) for r in resolved] == [
        ("TWO-RENEW", "critical", "renewed")
    ]


def test_the_report_and_the_summary_show_the_changes(two_days):
    out, day_2 = two_days
    report = out / "production" / f"as_of={DAY_2}" / "report.html"

    assert report.is_file() and (out / "production" / "latest" / "report.html").is_file()
    assert "TWO-NEW" in report.read_text(encoding="utf-8")
    assert f"run report:         {report}" in day_2.stdout
    assert f"Changes since {DAY_1}" in day_2.stdout
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["previous_as_of"] == DAY_1
    assert summary["changes"]["critical"] == {"new": 1, "escalated": 0, "newly_lapsed": 1, "resolved": 1}
    status = json.loads((out / "notifications" / f"{DAY_2}.status.json").read_text())
    assert f"Run report: {report}" in status["message"]


def test_rerunning_day_two_sends_the_same_digests(two_days):
    out, _ = two_days
    before = {tier: _digest(out, tier) for tier in ("critical", "high")}

    _run(out, "two_days_day2.ndjson", DAY_2)

    again = {tier: _digest(out, tier) for tier in ("critical", "high")}
    # The same digests, but for the run id each run has.
    assert {t: (d["subject"], _without_run_id(d["message"])) for t, d in again.items()} == {
        t: (d["subject"], _without_run_id(d["message"])) for t, d in before.items()
    }


def test_a_day_with_nothing_changed_sends_no_digest_when_asked_not_to(two_days):
    out, _ = two_days
    # GIVEN day 3 with no new input: every alert is where it was on day 2 and nothing was resolved

    quiet = _run(out, "two_days_day2.ndjson", "2026-12-02", "--skip-unchanged-digests")

    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["previous_as_of"] == DAY_2
    assert sorted(summary["unchanged_digests_not_sent"]) == ["2026-12-02#critical#all", "2026-12-02#high#all"]
    assert not list((out / "notifications").glob("2026-12-02.critical*"))
    assert "not sent, nothing changed: 2026-12-02#critical#all" in quiet.stdout
