"""A stack's state machine times its tasks as the golden definition does, from the stack's sizing."""

from __future__ import annotations

import json
from pathlib import Path

from infra.config import GlueJobSettings, NotifierSettings
from pipeline.sizing import GLUE_TASK_MARGIN_SECONDS, LAMBDA_TASK_MARGIN_SECONDS
from pipeline.stages import CURATE, NOTIFY_ALERTS, RUN_REPORT

GOLDEN = Path(__file__).resolve().parents[1] / "orchestration" / "golden" / "state_machine.json"


def _timeouts(definition: dict) -> dict[str, int]:
    timeouts = {}
    for name, state in definition["States"].items():
        if "TimeoutSeconds" in state:
            timeouts[name] = state["TimeoutSeconds"]
        for branch in state.get("Branches", []):
            timeouts.update(_timeouts(branch))
    return timeouts


def test_the_dev_stack_deploys_the_golden_definitions_timeouts(deployment, dev_config):
    # Pulumi.dev.yaml sets the default sizing, so its machine must time every task as the golden file does.
    (machine,) = deployment.of_type("aws:sfn/stateMachine:StateMachine")
    deployed = _timeouts(json.loads(machine.inputs["definition"]))

    assert deployed == _timeouts(json.loads(GOLDEN.read_text()))
    job_minutes = int(dev_config["healthcare-accreditation:glueTimeoutMinutes"])
    function_seconds = int(dev_config["healthcare-accreditation:notifierTimeoutSeconds"])
    assert job_minutes == GlueJobSettings().timeout_minutes
    assert function_seconds == NotifierSettings().timeout_seconds
    # The tasks outlive the job and the functions, so Glue and Lambda report their own timeouts.
    assert deployed[CURATE.title] == job_minutes * 60 + GLUE_TASK_MARGIN_SECONDS
    for stage in (NOTIFY_ALERTS, RUN_REPORT):
        assert deployed[stage.title] == function_seconds + LAMBDA_TASK_MARGIN_SECONDS
