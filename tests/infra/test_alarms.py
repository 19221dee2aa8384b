"""CloudWatch alarms: PutMetricAlarm's documented rules on every alarm, and the missing-run alarm.

Pulumi's mocks accept any alarm; PutMetricAlarm does not. The rules come from the Amazon CloudWatch API
Reference, PutMetricAlarm (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html)
and MetricDataQuery (.../APIReference/API_MetricDataQuery.html), whose text and enumerations botocore ships
in its copy of the service model (read below, not copied). How an alarm turns data points into a state
comes from "Evaluating an alarm" and "Configuring how CloudWatch alarms treat missing data" (Amazon
CloudWatch User Guide, https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html).
"""

from __future__ import annotations

import re

import botocore.loaders
import pytest
from program_mocks import ACCOUNT_ID, DEV_CONTEXT, run_program
from test_config import settings_from

from infra.monitoring import Monitoring, MonitoringArgs

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
MACHINE_ARN = f"arn:aws:states:us-east-1:{ACCOUNT_ID}:stateMachine:hc-accred-dev-pipeline"
STATUS_TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:hc-accred-dev-pipeline-status"

_MODEL = botocore.loaders.Loader().load_service_model("cloudwatch", "service-2")
COMPARISON_OPERATORS = set(_MODEL["shapes"]["ComparisonOperator"]["enum"])
# TreatMissingData: "Valid Values: breaching | notBreaching | ignore | missing".
TREAT_MISSING_DATA = {"breaching", "notBreaching", "ignore", "missing"}
# Period: "Valid values are 10, 20, 30, and any multiple of 60."
HIGH_RESOLUTION_PERIODS = {10, 20, 30}
# Period: "Period multiplied by EvaluationPeriods can't be more than 604,800 seconds. For alarms with a period
# of less than one hour (3,600 seconds), the total evaluation period can't be longer than one day (86,400 s)."
MAX_EVALUATION_SECONDS = 604_800
MAX_SHORT_PERIOD_EVALUATION_SECONDS = 86_400
# Metrics: "you cannot include the Namespace, MetricName, Dimensions, Period, Unit, Statistic, or
# ExtendedStatistic parameters of PutMetricAlarm in the same operation".
EXCLUDED_BY_METRICS = {
    "namespace",
    "metricName",
    "dimensions",
    "period",
    "unit",
    "statistic",
    "extendedStatistic",
}
# MetricDataQuery Id: "The valid characters are letters, numbers, and underscore. The first character must be
# a lowercase letter."
QUERY_ID = re.compile(r"^[a-z][A-Za-z0-9_]*$")


def test_the_rules_are_the_ones_botocore_documents():
    period = _MODEL["shapes"]["PutMetricAlarmInput"]["members"]["Period"]["documentation"]
    assert "604,800 seconds" in period and "86,400 seconds" in period
    assert "any multiple of 60" in period
    query_id = _MODEL["shapes"]["MetricDataQuery"]["members"]["Id"]["documentation"]
    assert "The first character must be a lowercase letter" in query_id


def _whole(value) -> int | None:
    """A whole number as an int (the mocks hand numbers over as floats), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        return None
    return int(value)


def _period_problems(where: str, period) -> list[str]:
    multiple_of_60 = period is not None and period > 0 and period % 60 == 0
    if not (multiple_of_60 or period in HIGH_RESOLUTION_PERIODS):
        return [f"{where}: period must be 10, 20, 30 or a multiple of 60, got {period!r}"]
    return []


def alarm_problems(alarm: dict) -> list[str]:
    """What PutMetricAlarm would refuse in `alarm` (the MetricAlarm inputs as the program registers them)."""
    where = alarm.get("name", "alarm")
    problems = []
    if alarm.get("comparisonOperator") not in COMPARISON_OPERATORS:
        problems.append(
            f"{where}: comparisonOperator {alarm.get('comparisonOperator')!r} is not one of the API's"
        )
    if alarm.get("treatMissingData", "missing") not in TREAT_MISSING_DATA:
        problems.append(f"{where}: treatMissingData must be one of {sorted(TREAT_MISSING_DATA)}")
    evaluation_periods = _whole(alarm.get("evaluationPeriods"))
    if evaluation_periods is None or evaluation_periods < 1:
        return [*problems, f"{where}: evaluationPeriods must be a positive integer"]
    # DatapointsToAlarm is the M of an "M out of N" alarm, EvaluationPeriods the N.
    if not 1 <= (_whole(alarm.get("datapointsToAlarm", evaluation_periods)) or 0) <= evaluation_periods:
        problems.append(f"{where}: datapointsToAlarm must be within 1..evaluationPeriods")
    queries = alarm.get("metricQueries")
    if queries:
        problems += [
            f"{where}: {key} excluded by metricQueries" for key in sorted(EXCLUDED_BY_METRICS & set(alarm))
        ]
        problems += _queries_problems(where, queries)
        periods = [_whole(q["metric"].get("period")) for q in queries if "metric" in q]
    else:
        if not alarm.get("metricName") or not alarm.get("namespace"):
            problems.append(f"{where}: needs metricName and namespace, or metricQueries")
        if not alarm.get("statistic") and not alarm.get("extendedStatistic"):
            problems.append(f"{where}: needs a statistic")
        periods = [_whole(alarm.get("period"))]
    for period in periods:
        period_problems = _period_problems(where, period)
        problems += period_problems
        if period_problems:
            continue
        limit = MAX_SHORT_PERIOD_EVALUATION_SECONDS if period < 3600 else MAX_EVALUATION_SECONDS
        if period * evaluation_periods > limit:
            problems.append(
                f"{where}: period {period} s x {evaluation_periods} evaluation periods exceeds {limit} s"
            )
    return problems


def _queries_problems(where: str, queries: list[dict]) -> list[str]:
    problems = []
    ids = [q.get("id") for q in queries]
    for query_id in ids:
        if not isinstance(query_id, str) or not QUERY_ID.match(query_id):
            problems.append(f"{where}: query id {query_id!r} must start with a lowercase letter")
    if len(set(ids)) != len(ids):
        problems.append(f"{where}: query ids must be unique")
    # ReturnData: "When used in PutMetricAlarm, specify true for the one expression result to use as the
    # alarm."
    if sum(1 for q in queries if q.get("returnData", True)) != 1:
        problems.append(f"{where}: exactly one query must return data")
    for query in queries:
        # "Within one MetricDataQuery object, you must specify either Expression or MetricStat but not both."
        if ("expression" in query) == ("metric" in query):
            problems.append(f"{where}: query {query.get('id')!r} needs an expression or a metric, not both")
        elif "expression" in query:
            unknown = set(re.findall(r"\b[a-z][A-Za-z0-9_]*\b", query["expression"])) - set(ids)
            if unknown:
                problems.append(
                    f"{where}: expression {query['expression']!r} names no query {sorted(unknown)}"
                )
        elif not {"metricName", "namespace", "stat", "period"} <= set(query["metric"]):
            problems.append(f"{where}: query {query['id']!r} needs metricName, namespace, stat and period")
    return problems


def alarms_by_name(deployment) -> dict[str, dict]:
    return {r.inputs["name"]: r.inputs for r in deployment.of_type(ALARM)}


def test_every_alarm_is_one_put_metric_alarm_accepts(deployment):
    alarms = alarms_by_name(deployment)
    assert alarms
    assert [problem for alarm in alarms.values() for problem in alarm_problems(alarm)] == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        # 26 hours of 5-minute points: more than a day for a period under an hour.
        ({"period": 300, "evaluationPeriods": 312, "datapointsToAlarm": 312}, "exceeds 86400"),
        ({"period": 3600, "evaluationPeriods": 169, "datapointsToAlarm": 169}, "exceeds 604800"),
        ({"period": 90}, "multiple of 60"),
        ({"datapointsToAlarm": 27}, "datapointsToAlarm"),
        ({"treatMissingData": "missingIsBreaching"}, "treatMissingData"),
        ({"comparisonOperator": "LessThan"}, "comparisonOperator"),
        ({"metricQueries": [{"id": "m1", "expression": "m1 + 1"}]}, "excluded by metricQueries"),
    ],
)
def test_the_alarm_rules_reject_what_put_metric_alarm_refuses(deployment, change, problem):
    alarm = {**alarms_by_name(deployment)["hc-accred-dev-no-successful-run"], **change}
    assert any(problem in found for found in alarm_problems(alarm)), alarm_problems(alarm)


def test_the_query_rules_reject_ids_and_return_data_the_api_refuses(deployment):
    alarm = alarms_by_name(deployment)["hc-accred-dev-no-curated-facilities"]
    queries = alarm["metricQueries"]
    renamed = [{**queries[0], "id": "Input"}, *queries[1:]]
    assert any("lowercase" in p for p in alarm_problems({**alarm, "metricQueries": renamed}))
    both = [{**q, "returnData": True} for q in queries]
    assert any("exactly one" in p for p in alarm_problems({**alarm, "metricQueries": both}))


# -- the missing-run alarm ----------------------------------------------------------------------------------


def test_the_missing_run_alarm_watches_successful_executions_hourly_over_26_hours(deployment):
    alarm = alarms_by_name(deployment)["hc-accred-dev-no-successful-run"]
    assert (alarm["namespace"], alarm["metricName"]) == ("AWS/States", "ExecutionsSucceeded")
    assert alarm["dimensions"] == {"StateMachineArn": MACHINE_ARN}
    assert (alarm["statistic"], alarm["period"]) == ("Sum", 3600)
    assert alarm["evaluationPeriods"] == alarm["datapointsToAlarm"] == 26
    assert (alarm["comparisonOperator"], alarm["threshold"]) == ("LessThanThreshold", 1)
    # Step Functions publishes no data point for an hour without executions: missing must count as breaching.
    assert alarm["treatMissingData"] == "breaching"
    assert alarm["alarmActions"] == [STATUS_TOPIC_ARN] and alarm["okActions"] == [STATUS_TOPIC_ARN]


def _in_alarm(alarm: dict, points: dict[int, float], hour: int) -> bool:
    """The alarm's state after the period ending at `hour`: of the last EvaluationPeriods periods, at least
    DatapointsToAlarm breach; a period without a data point breaches when treatMissingData is breaching."""
    breaching = 0
    for period in range(hour - int(alarm["evaluationPeriods"]) + 1, hour + 1):
        if period not in points:
            breaching += alarm["treatMissingData"] == "breaching"
        elif alarm["comparisonOperator"] == "LessThanThreshold":
            breaching += points[period] < alarm["threshold"]
    return breaching >= alarm["datapointsToAlarm"]


def test_the_alarm_stays_quiet_on_daily_runs_and_fires_26_hours_after_the_last_success(deployment):
    alarm = alarms_by_name(deployment)["hc-accred-dev-no-successful-run"]
    # A success at 06:00 every day for a week (only that hour has a data point).
    daily = {day * 24 + 6: 1.0 for day in range(7)}
    assert not any(_in_alarm(alarm, daily, hour) for hour in range(30, 7 * 24))
    # The schedule stops after the success of day 6 (hour 150): silent until 26 hours have passed.
    firing = [hour for hour in range(30, 9 * 24) if _in_alarm(alarm, daily, hour)]
    assert firing[0] == 6 * 24 + 6 + 26
    # A day whose executions all failed publishes ExecutionsSucceeded = 0 at most: breaching as well.
    failed_day = {**daily, 6 * 24 + 6: 0.0}
    assert _in_alarm(alarm, failed_day, 5 * 24 + 6 + 26)


def test_the_missing_run_period_follows_the_config_and_stays_within_seven_days(dev_config):
    assert settings_from(dev_config).missing_run_alarm_hours == 26
    assert (
        settings_from(
            {**dev_config, "healthcare-accreditation:missingRunAlarmHours": "50"}
        ).missing_run_alarm_hours
        == 50
    )
    for hours in ("0", "169"):
        with pytest.raises(ValueError, match="missingRunAlarmHours"):
            settings_from({**dev_config, "healthcare-accreditation:missingRunAlarmHours": hours})

    def program():
        Monitoring(
            "hc-accred-dev",
            MonitoringArgs(
                stack=DEV_CONTEXT,
                status_topic_arn=STATUS_TOPIC_ARN,
                glue_job_name="job",
                crawler_name="crawler",
                notifier_function_name="fn",
                workgroup_name="wg",
                topic_names={"status": "status"},
                state_machine_arn=MACHINE_ARN,
                missing_run_alarm_hours=168,
            ),
        )

    alarms = alarms_by_name(run_program(program, {}))
    assert alarms["hc-accred-dev-no-successful-run"]["evaluationPeriods"] == 168
    assert alarm_problems(alarms["hc-accred-dev-no-successful-run"]) == []
