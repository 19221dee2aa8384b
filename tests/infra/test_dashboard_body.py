"""The CloudWatch dashboard body, checked against CloudWatch's documented body structure.

Pulumi's mocks accept any string as `dashboard_body`; PutDashboard does not. The rules below are written
from "Dashboard Body Structure and Syntax" (Amazon CloudWatch API Reference,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html),
each with the part of the page it comes from.
"""

from __future__ import annotations

import json
import re

import pytest

from infra.dashboard import dashboard_body

# Overall Structure: "an array of between 0 and 500 widget objects, as well as a few other parameters".
MAX_WIDGETS = 500
TOP_LEVEL_KEYS = {"widgets", "variables", "start", "end", "periodOverride"}
PERIOD_OVERRIDES = {"auto", "inherit"}
MAX_VARIABLES = 25
# Widgets Array Structure.
WIDGET_TYPES = {"metric", "text", "log", "alarm", "explorer"}
WIDGET_KEYS = {"type", "x", "y", "width", "height", "properties"}
GRID_COLUMNS = 24
MAX_HEIGHT = 1000
# Properties of a Metric Widget Object.
METRIC_VIEWS = {"timeSeries", "singleValue", "gauge", "bar", "pie", "table"}
LEGEND_POSITIONS = {"right", "bottom", "hidden"}
MAX_METRICS = 500
STATISTIC = re.compile(r"^(SampleCount|Average|Sum|Minimum|Maximum|p\d{1,2}(\.\d+)?)$")
# Metric Widget: Format for Each Metric in the Array (the id, label, region and accountId fields) plus the
# Rendering Properties Object Format (color, label, period, stat, visible, yAxis).
METRIC_OPTION_KEYS = {"accountId", "id", "label", "region", "color", "period", "stat", "visible", "yAxis"}
EXPRESSION_KEYS = {"expression", *METRIC_OPTION_KEYS}
# "The Id must start with a lowercase letter."
METRIC_ID = re.compile(r"^[a-z][A-Za-z0-9_]*$")
Y_AXES = {"left", "right"}
# Properties of a Text Widget Object.
TEXT_BACKGROUNDS = {"transparent", "solid"}
# Properties of an Alarm Status Widget Object.
MAX_ALARMS = 100
# Variables Array Structure.
VARIABLE_TYPES = {"property", "pattern"}
VARIABLE_INPUT_TYPES = {"input", "select", "radio"}
VARIABLE_ID = re.compile(r"^[0-9A-Za-z_-]{1,32}$")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _period_problem(where: str, period) -> list[str]:
    # "Valid Values: Any multiple of 60, with 60 as the minimum."
    if not _is_int(period) or period < 60 or period % 60:
        return [f"{where}: period must be a multiple of 60 and at least 60, got {period!r}"]
    return []


def dashboard_problems(body: dict) -> list[str]:
    """What in `body` the documented structure does not allow (empty when PutDashboard would take it)."""
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    problems = [f"unknown top-level field {key!r}" for key in sorted(set(body) - TOP_LEVEL_KEYS)]
    widgets = body.get("widgets")
    if not isinstance(widgets, list):
        return [*problems, "widgets is required and must be an array"]
    if len(widgets) > MAX_WIDGETS:
        problems.append(f"at most {MAX_WIDGETS} widgets, got {len(widgets)}")
    if "periodOverride" in body and body["periodOverride"] not in PERIOD_OVERRIDES:
        problems.append(f"periodOverride must be one of {sorted(PERIOD_OVERRIDES)}")
    if "end" in body and "start" not in body:
        problems.append("end needs start")
    problems += _variables_problems(body.get("variables", []))
    for index, widget in enumerate(widgets):
        problems += _widget_problems(f"widget {index}", widget)
    return problems


def _variables_problems(variables) -> list[str]:
    if not isinstance(variables, list) or len(variables) > MAX_VARIABLES:
        return [f"variables must be an array of at most {MAX_VARIABLES}"]
    problems = []
    for index, variable in enumerate(variables):
        where = f"variable {index}"
        if variable.get("type") not in VARIABLE_TYPES:
            problems.append(f"{where}: type must be one of {sorted(VARIABLE_TYPES)}")
        if variable.get("inputType") not in VARIABLE_INPUT_TYPES:
            problems.append(f"{where}: inputType must be one of {sorted(VARIABLE_INPUT_TYPES)}")
        if not isinstance(variable.get("id"), str) or not VARIABLE_ID.match(variable["id"]):
            problems.append(f"{where}: id must be 1-32 characters of 0-9A-Za-z-_")
    return problems


def _widget_problems(where: str, widget) -> list[str]:
    if not isinstance(widget, dict):
        return [f"{where}: a widget must be an object"]
    title = (
        (widget.get("properties") or {}).get("title") if isinstance(widget.get("properties"), dict) else None
    )
    if title:
        where = f"{where} ({title})"
    problems = [f"{where}: unknown field {key!r}" for key in sorted(set(widget) - WIDGET_KEYS)]
    if widget.get("type") not in WIDGET_TYPES:
        problems.append(f"{where}: type must be one of {sorted(WIDGET_TYPES)}, got {widget.get('type')!r}")
    # "x ... Required: Yes, if y is specified" and the other way round.
    if ("x" in widget) != ("y" in widget):
        problems.append(f"{where}: x and y go together")
    if "x" in widget and not (_is_int(widget["x"]) and 0 <= widget["x"] < GRID_COLUMNS):
        problems.append(f"{where}: x must be an integer 0-{GRID_COLUMNS - 1}")
    if "y" in widget and not (_is_int(widget["y"]) and widget["y"] >= 0):
        problems.append(f"{where}: y must be an integer, 0 or higher")
    if "width" in widget and not (_is_int(widget["width"]) and 1 <= widget["width"] <= GRID_COLUMNS):
        problems.append(f"{where}: width must be an integer 1-{GRID_COLUMNS}")
    if "height" in widget and not (_is_int(widget["height"]) and 1 <= widget["height"] <= MAX_HEIGHT):
        problems.append(f"{where}: height must be an integer 1-{MAX_HEIGHT}")
    properties = widget.get("properties")
    if not isinstance(properties, dict):
        return [*problems, f"{where}: properties is required and must be an object"]
    checks = {
        "metric": _metric_widget_problems,
        "text": _text_widget_problems,
        "log": _log_widget_problems,
        "alarm": _alarm_widget_problems,
        "explorer": _explorer_widget_problems,
    }
    if widget.get("type") in checks:
        problems += checks[widget["type"]](where, properties)
    return problems


def _text_widget_problems(where: str, properties: dict) -> list[str]:
    problems = [
        f"{where}: unknown text property {key!r}"
        for key in sorted(set(properties) - {"markdown", "background"})
    ]
    if not isinstance(properties.get("markdown"), str):
        problems.append(f"{where}: a text widget needs markdown (a string)")
    if "background" in properties and properties["background"] not in TEXT_BACKGROUNDS:
        problems.append(f"{where}: background must be one of {sorted(TEXT_BACKGROUNDS)}")
    return problems


def _log_widget_problems(where: str, properties: dict) -> list[str]:
    problems = []
    if not isinstance(properties.get("region"), str):
        problems.append(f"{where}: a log widget needs region")
    query = properties.get("query")
    if not isinstance(query, str) or not query.lstrip().startswith("SOURCE"):
        problems.append(f"{where}: a log widget needs a query that starts with SOURCE '<log group>'")
    return problems


def _alarm_widget_problems(where: str, properties: dict) -> list[str]:
    alarms = properties.get("alarms")
    if not isinstance(alarms, list) or not 1 <= len(alarms) <= MAX_ALARMS:
        return [f"{where}: an alarm widget needs alarms, 1-{MAX_ALARMS} ARNs"]
    return [
        f"{where}: alarm {alarm!r} is not an alarm ARN"
        for alarm in alarms
        if not str(alarm).startswith("arn:")
    ]


def _explorer_widget_problems(where: str, properties: dict) -> list[str]:
    problems = []
    metrics = properties.get("metrics")
    if not isinstance(metrics, list) or not 1 <= len(metrics) <= 100:
        problems.append(f"{where}: an explorer widget needs metrics, 1-100 objects")
    else:
        for metric in metrics:
            if not isinstance(metric, dict) or not {"metricName", "resourceType"} <= set(metric):
                problems.append(f"{where}: each explorer metric needs metricName and resourceType")
        if len({m.get("resourceType") for m in metrics if isinstance(m, dict)}) > 1:
            problems.append(f"{where}: every explorer metric must have the same resourceType")
    if not isinstance(properties.get("labels"), list):
        problems.append(f"{where}: an explorer widget needs labels")
    if "period" in properties:
        problems += _period_problem(where, properties["period"])
    return problems


def _metric_widget_problems(where: str, properties: dict) -> list[str]:
    problems = []
    if not isinstance(properties.get("region"), str) or not properties["region"]:
        problems.append(f"{where}: a metric widget needs region")
    annotations = properties.get("annotations") or {}
    has_alarm = bool(annotations.get("alarms")) if isinstance(annotations, dict) else False
    if has_alarm and "metrics" in properties:
        problems.append(f"{where}: an alarm annotation excludes a metrics array")
    if "metrics" not in properties and not has_alarm:
        problems.append(f"{where}: a metric widget needs metrics (or an alarm annotation)")
    if "metrics" in properties:
        problems += _metrics_array_problems(where, properties["metrics"])
    if "period" in properties:
        problems += _period_problem(where, properties["period"])
    if "stat" in properties and not STATISTIC.match(str(properties["stat"])):
        problems.append(f"{where}: stat {properties['stat']!r} is not a CloudWatch statistic")
    if "view" in properties and properties["view"] not in METRIC_VIEWS:
        problems.append(f"{where}: view must be one of {sorted(METRIC_VIEWS)}")
    if properties.get("view") == "gauge":
        left = (properties.get("yAxis") or {}).get("left") or {}
        if "min" not in left or "max" not in left:
            problems.append(f"{where}: a gauge needs yAxis.left min and max")
    legend = properties.get("legend")
    if legend is not None and (
        not isinstance(legend, dict) or legend.get("position") not in LEGEND_POSITIONS
    ):
        problems.append(f"{where}: legend.position must be one of {sorted(LEGEND_POSITIONS)}")
    return problems


def _metrics_array_problems(where: str, metrics) -> list[str]:
    # "metrics ... Type: Array of arrays"; "0-500 metrics and expressions".
    if not isinstance(metrics, list):
        return [f"{where}: metrics must be an array of arrays"]
    if len(metrics) > MAX_METRICS:
        return [f"{where}: at most {MAX_METRICS} metrics and expressions"]
    problems = []
    ids: list[str] = []
    insights_queries = 0
    for index, entry in enumerate(metrics):
        at = f"{where}: metrics[{index}]"
        if not isinstance(entry, list) or not entry:
            problems.append(
                f'{at} must itself be an array (an expression is [{{"expression": ..., "id": ...}}])'
            )
            continue
        options = entry[-1] if isinstance(entry[-1], dict) else None
        if options is not None and "expression" in options:
            # Each expression: [ {"expression": "...", ["label": "..."], ["id": "..."]} ].
            if len(entry) != 1:
                problems.append(f"{at}: an expression entry is an array holding the expression object alone")
            if not isinstance(options["expression"], str) or not options["expression"]:
                problems.append(f"{at}: expression must be a non-empty string")
            elif options["expression"].lstrip().upper().startswith("SELECT"):
                insights_queries += 1
            problems += [
                f"{at}: unknown expression field {key!r}" for key in sorted(set(options) - EXPRESSION_KEYS)
            ]
        else:
            # Each single metric: [ Namespace, MetricName, [{DimensionName,DimensionValue}...] {Rendering} ].
            names = entry[:-1] if options is not None else entry
            if not all(isinstance(name, str) and name for name in names):
                problems.append(f"{at}: namespace, metric name and dimensions must be non-empty strings")
            elif len(names) < 2 or len(names) % 2:
                problems.append(f"{at}: namespace, metric name, then dimension name/value pairs")
            elif index == 0 and "." in names:
                problems.append(f"{at}: '.' (same as the previous metric) cannot start the array")
            if options is not None:
                problems += [
                    f"{at}: unknown metric option {key!r}"
                    for key in sorted(set(options) - METRIC_OPTION_KEYS)
                ]
        if options is None:
            continue
        if "id" in options:
            if not isinstance(options["id"], str) or not METRIC_ID.match(options["id"]):
                problems.append(f"{at}: id {options['id']!r} must start with a lowercase letter")
            ids.append(options["id"])
        if "period" in options:
            problems += _period_problem(at, options["period"])
        if "stat" in options and not STATISTIC.match(str(options["stat"])):
            problems.append(f"{at}: stat {options['stat']!r} is not a CloudWatch statistic")
        if "yAxis" in options and options["yAxis"] not in Y_AXES:
            problems.append(f"{at}: yAxis must be left or right")
    duplicates = sorted({metric_id for metric_id in ids if ids.count(metric_id) > 1})
    if duplicates:
        problems.append(f"{where}: ids {duplicates} are used more than once")
    if insights_queries > 1:
        problems.append(f"{where}: one metrics array can include no more than one Metrics Insights query")
    return problems


# -- the deployed dashboard ---------------------------------------------------------------------------------


def test_the_deployed_dashboard_follows_the_documented_body_structure(deployment):
    """The body `pulumi up` sends to PutDashboard, from the real program under mocks.

    Source: "Dashboard Body Structure and Syntax", Amazon CloudWatch API Reference,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
    """
    (dashboard,) = deployment.of_type("aws:cloudwatch/dashboard:Dashboard")
    assert dashboard_problems(json.loads(dashboard.inputs["dashboardBody"])) == []


def test_a_dashboard_of_other_names_in_another_region_follows_the_documented_body_structure():
    body = dashboard_body(
        region="eu-west-1",
        glue_job_name="job",
        crawler_name="crawler",
        function_name="fn",
        workgroup_name="wg",
        topic_names={"status": "status"},
        stack="acc-dev",
        state_machine_arn="arn:aws:states:eu-west-1:123456789012:stateMachine:acc-dev-pipeline",
    )
    assert dashboard_problems(json.loads(json.dumps(body))) == []


# -- the validator rejects what the page rules out, so the tests above can fail -----------------------------


def _metric_widget(**properties) -> dict:
    return {
        "type": "metric",
        "width": 12,
        "height": 6,
        "properties": {"region": "us-east-1", "metrics": [["AWS/Lambda", "Errors"]], **properties},
    }


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({}, "widgets is required"),
        ({"widgets": [], "colour": "red"}, "unknown top-level field"),
        ({"widgets": [{"type": "chart", "properties": {}}]}, "type must be one of"),
        ({"widgets": [{**_metric_widget(), "width": 25}]}, "width must be an integer 1-24"),
        ({"widgets": [{**_metric_widget(), "width": 0}]}, "width must be an integer 1-24"),
        ({"widgets": [{**_metric_widget(), "x": 24, "y": 0}]}, "x must be an integer 0-23"),
        ({"widgets": [{**_metric_widget(), "x": 0}]}, "x and y go together"),
        ({"widgets": [{**_metric_widget(), "height": 1001}]}, "height must be an integer"),
        ({"widgets": [{"type": "metric", "width": 6}]}, "properties is required"),
        # An expression object directly in `metrics`, not wrapped in an array.
        (
            {
                "widgets": [
                    _metric_widget(metrics=[{"expression": "SEARCH('{AWS/Athena}', 'Sum', 300)", "id": "e1"}])
                ]
            },
            "must itself be an array",
        ),
        ({"widgets": [_metric_widget(metrics=["AWS/Lambda", "Errors"])]}, "must itself be an array"),
        (
            {"widgets": [_metric_widget(metrics=[[{"expression": "METRICS()", "id": "E1"}]])]},
            "lowercase letter",
        ),
        (
            {
                "widgets": [
                    _metric_widget(
                        metrics=[
                            ["AWS/Lambda", "Errors", {"id": "m1"}],
                            ["AWS/Lambda", "Throttles", {"id": "m1"}],
                        ]
                    )
                ]
            },
            "used more than once",
        ),
        (
            {"widgets": [_metric_widget(metrics=[["AWS/Lambda", "Errors", "FunctionName"]])]},
            "name/value pairs",
        ),
        ({"widgets": [_metric_widget(metrics=[[".", "Errors"]])]}, "cannot start the array"),
        ({"widgets": [_metric_widget(region=None)]}, "needs region"),
        (
            {"widgets": [{"type": "metric", "properties": {"metrics": [["AWS/Lambda", "Errors"]]}}]},
            "needs region",
        ),
        ({"widgets": [_metric_widget(period=90)]}, "multiple of 60"),
        ({"widgets": [_metric_widget(stat="Total")]}, "not a CloudWatch statistic"),
        ({"widgets": [_metric_widget(view="lineGraph")]}, "view must be one of"),
        ({"widgets": [{"type": "text", "properties": {}}]}, "needs markdown"),
        (
            {"widgets": [{"type": "log", "properties": {"region": "us-east-1", "query": "fields @message"}}]},
            "SOURCE",
        ),
        ({"widgets": [{"type": "alarm", "properties": {"alarms": []}}]}, "1-100 ARNs"),
    ],
)
def test_the_validator_rejects_what_the_documented_structure_rules_out(body, problem):
    problems = dashboard_problems(body)
    assert any(problem in found for found in problems), problems


def test_the_validator_accepts_the_pages_own_examples():
    # Two examples from the page: two metrics and a math expression summing them, and a search expression.
    body = {
        "start": "-PT9H",
        "periodOverride": "inherit",
        "widgets": [
            {
                "type": "metric",
                "x": 0,
                "y": 0,
                "width": 12,
                "height": 6,
                "properties": {
                    "metrics": [
                        ["AWS/EC2", "DiskReadBytes", "InstanceId", "i-123", {"id": "m1"}],
                        [".", ".", ".", "i-abc", {"id": "m2"}],
                        [{"expression": "SUM(METRICS())", "label": "Sum of DiskReadbytes", "id": "e3"}],
                    ],
                    "view": "timeSeries",
                    "stacked": False,
                    "period": 300,
                    "stat": "Average",
                    "region": "us-east-1",
                    "title": "EC2 Instance CPU",
                },
            },
            {
                "type": "metric",
                "x": 0,
                "y": 0,
                "width": 18,
                "height": 9,
                "properties": {
                    "metrics": [
                        [
                            {
                                "expression": "SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"', "
                                "'Average', 300)",
                                "id": "e1",
                            }
                        ]
                    ],
                    "view": "timeSeries",
                    "stacked": False,
                    "region": "us-east-1",
                    "title": "EC2 Instance CPU",
                },
            },
            {
                "type": "text",
                "x": 0,
                "y": 7,
                "width": 3,
                "height": 3,
                "properties": {"markdown": "Hello world"},
            },
        ],
    }
    assert dashboard_problems(body) == []
