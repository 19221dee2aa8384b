"""Embedded Metric Format log events, checked against CloudWatch's specification, and the metrics they carry.

CloudWatch Logs turns a log event into metrics only when it follows "Specification: Embedded metric format"
(Amazon CloudWatch User Guide,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html);
an event that does not is kept as a plain log line and no metric appears, which no test of our own code would
notice. Each rule below names the part of the page it comes from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import botocore.loaders

# "Metric definition object": Unit "MUST be a valid CloudWatch metric unit": StandardUnit of the CloudWatch
# API, read from botocore's copy of the service model.
_CLOUDWATCH = botocore.loaders.Loader().load_service_model("cloudwatch", "service-2")
UNITS = set(_CLOUDWATCH["shapes"]["StandardUnit"]["enum"])
# "DimensionSet ... MUST NOT contain more than 30 dimension keys"; Metrics "MUST NOT contain more than 100".
MAX_DIMENSION_KEYS = 30
MAX_METRICS = 100
# "StorageResolution ... 1 or 60".
STORAGE_RESOLUTIONS = {1, 60}


@dataclass(frozen=True)
class PublishedMetric:
    """One metric as CloudWatch stores it: namespace, name and the full set of dimension name/value pairs."""

    namespace: str
    name: str
    dimensions: frozenset[tuple[str, str]]
    value: float | None = None


def parse_event(line: str) -> dict:
    """The log event's message as a document. "Root node": the message MUST be a valid JSON object with no
    additional data at the beginning or end, so one printed line must be exactly one object."""
    stripped = line.strip("\n")
    try:
        document = json.loads(stripped)
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict) or stripped != stripped.strip() or "\n" in stripped:
        raise ValueError(f"not a single JSON object line: {line!r}")
    return document


def emf_problems(document: dict) -> list[str]:
    """What in `document` the specification rules out (empty when CloudWatch Logs extracts its metrics)."""
    metadata = document.get("_aws")
    # "Root node": MUST contain the `_aws` metadata object.
    if not isinstance(metadata, dict):
        return ["the root must hold an _aws metadata object"]
    problems = []
    # "Metadata object": Timestamp (milliseconds since the epoch) and CloudWatchMetrics are required.
    timestamp = metadata.get("Timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 10**12:
        problems.append(f"_aws.Timestamp must be epoch milliseconds, got {timestamp!r}")
    directives = metadata.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*problems, "_aws.CloudWatchMetrics must be a non-empty array of MetricDirective objects"]
    for index, directive in enumerate(directives):
        problems += _directive_problems(f"CloudWatchMetrics[{index}]", directive, document)
    return problems


def _directive_problems(where: str, directive: dict, root: dict) -> list[str]:
    problems = []
    # "MetricDirective object": Namespace is a string; Dimensions an array of DimensionSet arrays.
    namespace = directive.get("Namespace")
    if not isinstance(namespace, str) or not namespace or ":" in namespace:
        problems.append(f"{where}: Namespace must be a non-empty string")
    dimension_sets = directive.get("Dimensions")
    if not isinstance(dimension_sets, list):
        problems.append(f"{where}: Dimensions must be an array of DimensionSet arrays")
        dimension_sets = []
    for dimension_set in dimension_sets:
        if not isinstance(dimension_set, list) or len(dimension_set) > MAX_DIMENSION_KEYS:
            problems.append(f"{where}: a DimensionSet is an array of at most {MAX_DIMENSION_KEYS} keys")
            continue
        for key in dimension_set:
            # "DimensionSet": every key MUST reference a target member whose value is a string.
            if not isinstance(root.get(key), str) or not root[key]:
                problems.append(f"{where}: dimension {key!r} needs a non-empty string member at the root")
    metrics = directive.get("Metrics")
    if not isinstance(metrics, list) or not 1 <= len(metrics) <= MAX_METRICS:
        return [*problems, f"{where}: Metrics must be an array of 1-{MAX_METRICS} metric definitions"]
    for definition in metrics:
        name = definition.get("Name") if isinstance(definition, dict) else None
        if not isinstance(name, str) or not name:
            problems.append(f"{where}: every metric definition needs a Name")
            continue
        # "Target members": the value MUST be a number or an array of numbers.
        value = root.get(name)
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            problems.append(f"{where}: metric {name!r} needs a numeric member at the root, got {value!r}")
        if "Unit" in definition and definition["Unit"] not in UNITS:
            problems.append(f"{where}: metric {name!r}: {definition['Unit']!r} is not a CloudWatch unit")
        if "StorageResolution" in definition and definition["StorageResolution"] not in STORAGE_RESOLUTIONS:
            problems.append(f"{where}: metric {name!r} StorageResolution must be 1 or 60")
    return problems


def published_metrics(document: dict) -> set[PublishedMetric]:
    """Every metric the document publishes: one per metric definition and DimensionSet."""
    found = set()
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            dimensions = frozenset((key, document[key]) for key in dimension_set)
            for definition in directive["Metrics"]:
                value = document[definition["Name"]]
                # An array holds several values of one metric; CloudWatch stores each.
                for each in value if isinstance(value, list) else [value]:
                    found.add(PublishedMetric(directive["Namespace"], definition["Name"], dimensions, each))
    return found


def metrics_in_lines(text: str) -> set[PublishedMetric]:
    """The metrics of every EMF event among printed lines (other lines are plain logs), each checked."""
    found = set()
    for line in text.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = parse_event(line)
        problems = emf_problems(document)
        if problems:
            raise AssertionError(f"EMF event CloudWatch would not extract: {problems}: {line}")
        found |= published_metrics(document)
    return found
