"""The local twin of the notifier: the same core writes the notifications/ outbox and the alerts CSV."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from accreditation_notifier.model import InvalidEventError, ResultsNotFoundError
from notifier_testkit import local_event, result_row, write_results

from pipeline.local.notifier_adapters import notify_locally, resolve_location
from pipeline.settings import DEFAULT_ALERT_POLICY, AlertPolicy


def seed_results(out_dir: Path) -> dict[str, str]:
    write_results(
        out_dir / "athena-results/stage2/expiring.csv",
        [result_row("TX1", 2, "TX"), result_row("CA1", 45, "CA"), result_row("NY1", 80, "NY")],
    )
    write_results(out_dir / "athena-results/lapsed/lapsed.csv", [result_row("TX9", -4, "TX")])
    return local_event(out_dir)


def outbox(out_dir: Path) -> dict[str, dict]:
    return {
        p.name: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((out_dir / "notifications").iterdir())
    }


def test_notify_locally_writes_one_outbox_file_per_digest_and_the_alerts_csv(tmp_path):
    event = seed_results(tmp_path)

    summary = notify_locally(event, tmp_path, DEFAULT_ALERT_POLICY)

    assert summary == {
        "as_of": "2026-12-01",
        "run_id": "run-1",
        "expiring": 3,
        "alerts": {"critical": 1, "high": 1, "medium": 1},
        "lapsed": 1,
        "previous_as_of": None,
        "changes": {
            "critical": {"new": 1, "escalated": 0, "newly_lapsed": 1, "resolved": 0},
            "high": {"new": 1, "escalated": 0, "newly_lapsed": 0, "resolved": 0},
            "medium": {"new": 1, "escalated": 0, "newly_lapsed": 0, "resolved": 0},
        },
        "change_totals": {"new": 3, "escalated": 0, "newly_lapsed": 1, "resolved": 0},
        "unchanged_digests_not_sent": [],
        "messages_published": 3,
        "duplicates_skipped": 0,
        "alerts_output": "s3://athena-results/notifier/run-1/accreditation_alerts.csv",
        "resolved_output": "s3://athena-results/notifier/run-1/resolved_accreditations.csv",
    }
    files = outbox(tmp_path)
    assert list(files) == [
        "2026-12-01.critical.all.json",
        "2026-12-01.high.all.json",
        "2026-12-01.medium.all.json",
    ]
    critical = files["2026-12-01.critical.all.json"]
    assert set(critical) == {"topic", "subject", "message", "attributes"}
    assert critical["topic"] == "critical"
    assert critical["attributes"] == {
        "priority": "critical",
        "as_of": "2026-12-01",
        "scope": "all",
        "run_id": "run-1",
    }
    assert "TX9" in critical["message"] and "LAPSED" in critical["message"]
    assert "s3://production/as_of=2026-12-01/accreditation_alerts.csv" in critical["message"]
    alerts = (tmp_path / "athena-results/notifier/run-1/accreditation_alerts.csv").read_text(encoding="utf-8")
    assert alerts.splitlines()[0].startswith('"facility_id","facility_name","state"')
    assert len(alerts.splitlines()) == 5  # header, three expiring alerts and the lapsed one


def test_state_digests_and_policy_bounds_reach_the_local_outbox(tmp_path):
    event = seed_results(tmp_path)

    notify_locally(
        event, tmp_path, AlertPolicy(critical_max_days=1, high_max_days=50, medium_max_days=90), ["tx"]
    )

    files = outbox(tmp_path)
    assert list(files) == [
        "2026-12-01.critical.all.json",
        "2026-12-01.critical.state.TX.json",
        "2026-12-01.high.all.json",
        "2026-12-01.high.state.TX.json",
        "2026-12-01.medium.all.json",
    ]
    assert files["2026-12-01.high.state.TX.json"]["attributes"]["state"] == "TX"


def test_a_local_rerun_rewrites_the_same_outbox_files(tmp_path):
    event = seed_results(tmp_path)
    notify_locally(event, tmp_path, DEFAULT_ALERT_POLICY)
    first = outbox(tmp_path)

    notify_locally(event, tmp_path, DEFAULT_ALERT_POLICY)

    assert outbox(tmp_path) == first


def test_local_locations_may_be_paths_file_uris_or_zone_uris(tmp_path):
    assert resolve_location("s3://athena-results/a/b.csv", tmp_path) == tmp_path / "athena-results/a/b.csv"
    assert resolve_location(f"file://{tmp_path}/x.csv", tmp_path) == tmp_path / "x.csv"
    assert resolve_location(str(tmp_path / "y.csv"), tmp_path) == tmp_path / "y.csv"
    with pytest.raises(ValueError, match="must name a zone bucket"):
        resolve_location("s3://some-bucket/a.csv", tmp_path)


def test_local_failures_match_the_lambda(tmp_path):
    with pytest.raises(InvalidEventError, match="as_of: missing"):
        notify_locally({}, tmp_path, DEFAULT_ALERT_POLICY)
    with pytest.raises(ResultsNotFoundError, match=re.escape("s3://athena-results/stage2/expiring.csv")):
        notify_locally(local_event(tmp_path), tmp_path, DEFAULT_ALERT_POLICY)
    assert not (tmp_path / "notifications").exists()
