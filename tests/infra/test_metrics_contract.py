"""The data alarms and the dashboard read exactly the metrics the Glue job and the notifier publish.

A CloudWatch metric is its namespace, name and full set of dimensions: an alarm that names one dimension too
few or too many watches a metric nobody publishes, stays in INSUFFICIENT_DATA or, with missing data not
breaching, OK forever. Both sides are read from the code: the publishers run with the arguments and
environment the deployed job and function receive, their EMF events are parsed as CloudWatch Logs would
(tests/emf_spec.py), and every alarm and dashboard metric of the pipeline's namespace must be among them.
"""

from __future__ import annotations

import json

import pytest
from accreditation_notifier import handler
from emf_spec import metrics_in_lines

from glue_jobs.curation.metrics import CURATION_METRICS, curation_metrics_line
from glue_jobs.curation.options import options_from_args
from infra.config import ALERT_TIERS, METRICS_NAMESPACE

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DATA_ALARMS = {
    "hc-accred-dev-quarantine-ratio",
    "hc-accred-dev-no-curated-facilities",
    "hc-accred-dev-empty-snapshot",
    "hc-accred-dev-empty-watch-list",
}

Metric = tuple[str, str, frozenset[tuple[str, str]]]


def _job_metrics(deployment) -> set[Metric]:
    (deployed,) = deployment.of_type("aws:glue/job:Job")
    arguments = deployed.inputs["defaultArguments"]
    options = options_from_args({name.removeprefix("--"): value for name, value in arguments.items()})
    # A report carrying every field the job's own metric definitions read.
    report = {field: 1 for field, _ in CURATION_METRICS.values()} | {"snapshot_date": "d", "run_id": "r"}
    line = curation_metrics_line(
        report,
        namespace=options.metrics_namespace,
        stack=options.metrics_stack,
        timestamp_ms=1_796_112_000_000,
    )
    return {(m.namespace, m.name, m.dimensions) for m in metrics_in_lines(line)}


def _notifier_metrics(deployment, monkeypatch, capsys) -> set[Metric]:
    functions = deployment.of_type("aws:lambda/function:Function")
    (function,) = [f for f in functions if f.inputs["name"].endswith("-notifier")]
    for name, value in function.inputs["environment"]["variables"].items():
        monkeypatch.setenv(name, value)
    settings = handler.NotifierSettings.from_env(function.inputs["environment"]["variables"])
    # A summary carrying every key the notifier's own metric definitions read.
    summary = {key: 1 for key in handler.RUN_METRICS.values()} | {
        "alerts": {tier: 1 for tier in ALERT_TIERS},
        "changes": {tier: {key: 1 for key in handler.CHANGE_METRICS.values()} for tier in ALERT_TIERS},
    }
    capsys.readouterr()
    handler.publish_run_metrics(summary, namespace=settings.metrics_namespace, stack=settings.metrics_stack)
    return {(m.namespace, m.name, m.dimensions) for m in metrics_in_lines(capsys.readouterr().out)}


@pytest.fixture
def published(deployment, monkeypatch, capsys) -> set[Metric]:
    return _job_metrics(deployment) | _notifier_metrics(deployment, monkeypatch, capsys)


def _alarm_metrics(alarm: dict) -> list[Metric]:
    queries = alarm.get("metricQueries") or [
        {"metric": {key: alarm.get(key) for key in ("namespace", "metricName", "dimensions")}}
    ]
    return [
        (
            q["metric"]["namespace"],
            q["metric"]["metricName"],
            frozenset((q["metric"]["dimensions"] or {}).items()),
        )
        for q in queries
        if "metric" in q
    ]


def test_every_data_alarm_watches_a_metric_the_job_or_the_notifier_publishes(deployment, published):
    alarms = {r.inputs["name"]: r.inputs for r in deployment.of_type(ALARM)}
    assert set(alarms) >= DATA_ALARMS
    watched = {
        name: metric
        for name, alarm in alarms.items()
        for metric in _alarm_metrics(alarm)
        if metric[0] == METRICS_NAMESPACE
    }
    assert set(watched) == DATA_ALARMS
    unpublished = {
        name: metric
        for name, alarm in alarms.items()
        for metric in _alarm_metrics(alarm)
        if metric[0] == METRICS_NAMESPACE and metric not in published
    }
    assert unpublished == {}


def test_every_data_metric_on_the_dashboard_is_published(deployment, published):
    (dashboard,) = deployment.of_type("aws:cloudwatch/dashboard:Dashboard")
    graphed = set()
    for widget in json.loads(dashboard.inputs["dashboardBody"])["widgets"]:
        for entry in widget["properties"].get("metrics", []):
            names = [part for part in entry if isinstance(part, str)]
            if names and names[0] == METRICS_NAMESPACE:
                graphed.add((names[0], names[1], frozenset(zip(names[2::2], names[3::2], strict=True))))
    assert graphed
    assert graphed - published == set()


def test_the_contract_sees_a_dimension_the_publisher_does_not_set(deployment, published):
    """The guard itself: the quarantine-ratio alarm with the notifier's `service` dimension is unpublished."""
    alarm = next(
        r.inputs for r in deployment.of_type(ALARM) if r.inputs["name"] == "hc-accred-dev-quarantine-ratio"
    )
    wrong = {**alarm, "dimensions": {**alarm["dimensions"], "service": "accreditation-notifier"}}
    assert not set(_alarm_metrics(wrong)) <= published
