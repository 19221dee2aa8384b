"""The notifier's run metrics on moto: the EMF events Powertools Metrics prints, parsed as CloudWatch would.

Lambda sends the function's stdout to its log group, and CloudWatch Logs extracts the metrics of every event
that follows "Specification: Embedded metric format" (tests/emf_spec.py names the page and checks each rule).
"""

from __future__ import annotations

import pytest
from accreditation_notifier.handler import lambda_handler, publish_run_metrics
from emf_spec import PublishedMetric, metrics_in_lines
from notifier_testkit import result_row

NAMESPACE = "HealthcareAccreditation"
STACK = "hc-accred-dev"
SERVICE = "accreditation-notifier"


def dimensions(tier: str | None = None) -> frozenset[tuple[str, str]]:
    pairs = {("Stack", STACK), ("service", SERVICE)}
    return frozenset(pairs | {("Tier", tier)} if tier else pairs)


def metric(name: str, value: float, tier: str | None = None) -> PublishedMetric:
    return PublishedMetric(NAMESPACE, name, dimensions(tier), value)


@pytest.fixture
def metrics_env(notifier_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("METRICS_STACK", STACK)


def test_a_run_publishes_its_counts_per_stack_and_per_tier(cloud, metrics_env, lambda_context, capsys):
    cloud.put_results(
        "stage2/expiring.csv",
        [result_row("TX-CRIT", 3, "TX"), result_row("NY-HIGH", 45, "NY"), result_row("TX-LATER", 120, "TX")],
    )
    cloud.put_results("lapsed/lapsed.csv", [result_row("TX-LAPSED", -10, "TX", body="DNV")])
    capsys.readouterr()

    summary = lambda_handler(cloud.event(), lambda_context)

    published = metrics_in_lines(capsys.readouterr().out)
    assert {
        metric("ExpiringAccreditations", summary["expiring"]),
        metric("LapsedAccreditations", summary["lapsed"]),
        metric("DigestsPublished", summary["messages_published"]),
        *(metric("Alerts", count, tier) for tier, count in summary["alerts"].items()),
    } <= published
    assert summary["alerts"] == {"critical": 1, "high": 1, "medium": 0}
    assert {m.namespace for m in published} == {NAMESPACE}
    assert {m.dimensions for m in published} <= {dimensions(), *(dimensions(t) for t in summary["alerts"])}


def test_changes_and_newly_lapsed_are_published_when_the_summary_carries_them(metrics_env, capsys):
    summary = {
        "expiring": 5,
        "lapsed": 2,
        "newly_lapsed": 1,
        "messages_published": 3,
        "alerts": {"critical": 2, "high": 2, "medium": 1},
        "changes": {
            "critical": {"new": 1, "escalated": 1, "resolved": 0},
            "high": {"new": 2, "escalated": 0, "resolved": 1},
            "medium": {"new": 0, "escalated": 0, "resolved": 3},
        },
    }

    publish_run_metrics(summary, namespace=NAMESPACE, stack=STACK)

    published = metrics_in_lines(capsys.readouterr().out)
    assert metric("NewlyLapsedAccreditations", 1) in published
    assert {
        metric("NewAlerts", 1, "critical"),
        metric("EscalatedAlerts", 1, "critical"),
        metric("ResolvedAlerts", 0, "critical"),
        metric("NewAlerts", 2, "high"),
        metric("ResolvedAlerts", 1, "high"),
        metric("ResolvedAlerts", 3, "medium"),
    } <= published


def test_keys_the_summary_does_not_carry_publish_nothing(metrics_env, capsys):
    publish_run_metrics(
        {"expiring": 1, "lapsed": 0, "messages_published": 1, "alerts": {"critical": 1}},
        namespace=NAMESPACE,
        stack=STACK,
    )

    names = {m.name for m in metrics_in_lines(capsys.readouterr().out)}
    assert names == {"ExpiringAccreditations", "LapsedAccreditations", "DigestsPublished", "Alerts"}


def test_without_the_stacks_metric_settings_the_run_says_so_and_prints_no_metric(
    cloud, lambda_context, capsys, caplog
):
    cloud.put_results("stage2/expiring.csv", [result_row("TX-CRIT", 3, "TX")])
    cloud.put_results("lapsed/lapsed.csv", [])
    capsys.readouterr()

    lambda_handler(cloud.event(), lambda_context)

    assert metrics_in_lines(capsys.readouterr().out) == set()
    assert any("run metrics not published" in str(record.msg) for record in caplog.records)
