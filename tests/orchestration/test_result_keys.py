"""The keys the state machine hands the notifier and copies to production are the ones the notifier writes."""

from __future__ import annotations

import re

from accreditation_notifier.model import NotifierRequest

from pipeline.stages import NOTIFY_ALERTS, PUBLISH_RESULTS, QUERY_STAGES
from pipeline.state_machine import PLACEHOLDER_TARGETS, build_state_machine, stage_result_path
from tests.orchestration.test_definition import _all_states

AS_OF = "2026-12-01"
# What the paths the intrinsics read hold in an execution of that as-of.
STATE_DATA = {
    "$.as_of": AS_OF,
    "$.run_id": "run-1",
    **{f"{stage_result_path(stage)}.query_execution_id": f"{stage.name}-query" for stage in QUERY_STAGES},
}
_FORMAT = re.compile(r"^States\.Format\('(?P<template>[^']*)', (?P<arguments>.*)\)$")


def _evaluate(intrinsic: str) -> str:
    """A path of STATE_DATA, or a States.Format whose arguments are, evaluated."""
    if intrinsic in STATE_DATA:
        return STATE_DATA[intrinsic]
    match = _FORMAT.match(intrinsic)
    assert match, intrinsic
    arguments = [STATE_DATA[path] for path in match["arguments"].split(", ")]
    return match["template"].replace("{}", "%s") % tuple(arguments)


def _notifier_event(payload: dict) -> dict[str, str]:
    return {
        key.removesuffix(".$"): _evaluate(value) if key.endswith(".$") else value
        for key, value in payload.items()
    }


def test_production_copies_of_the_notifier_files_read_where_the_notifier_writes_them():
    states = _all_states(build_state_machine(PLACEHOLDER_TARGETS))
    payload = states[NOTIFY_ALERTS.title]["Parameters"]["Payload"]
    request = NotifierRequest.from_event(_notifier_event(payload))

    copied = {
        "s3://" + _evaluate(states[f"Copy {file_name} to as_of"]["Parameters"]["CopySource.$"])
        for file_name in NOTIFY_ALERTS.published_files
    }

    assert copied == {request.alerts_output, request.resolved_output}
    assert {f"Copy {name} to as_of" for name in NOTIFY_ALERTS.published_files} <= {
        branch["StartAt"] for branch in states[PUBLISH_RESULTS.title]["Branches"]
    }
    assert request.production_location == f"s3://{PLACEHOLDER_TARGETS.production_bucket}/as_of={AS_OF}/"
