"""The failure path: every caught error is summarised, sent to the status topic, and ends the run FAILED."""

from __future__ import annotations

from pipeline.state_machine.draft import SNS_PUBLISH, Draft, task_state
from pipeline.state_machine.names import NOTIFY_FAILURE, PIPELINE_FAILED, failure_state_name
from pipeline.state_machine.retries import SNS_TRANSIENT


def add_failure_path(draft: Draft) -> None:
    for state_name in draft.catching_states:
        draft.add(
            failure_state_name(state_name),
            {
                "Type": "Pass",
                "Parameters": {
                    "state": state_name,
                    "error.$": "$.error.Error",
                    "cause.$": "$.error.Cause",
                    "summary.$": f"States.Format('{state_name} failed with {{}}: {{}}', "
                    "$.error.Error, $.error.Cause)",
                },
                "ResultPath": "$.failure",
                "Next": NOTIFY_FAILURE,
            },
        )
    message = (
        "Accreditation pipeline execution {} failed in state: {}\n\n"
        "Error: {}\nCause: {}\n\n"
        "Fix the cause, then start a new execution with the same input (rerunning an as-of is safe)."
    )
    draft.add(
        NOTIFY_FAILURE,
        task_state(
            SNS_PUBLISH,
            {
                "TopicArn": draft.targets.status_topic_arn,
                "Subject.$": "States.Format('Pipeline failed: {}', $.failure.state)",
                "Message.$": f"States.Format('{message}', $$.Execution.Id, $.failure.state, "
                "$.failure.error, $.failure.cause)",
                "MessageAttributes": {"outcome": {"DataType": "String", "StringValue": "failed"}},
            },
            timeout=draft.settings.sdk_timeout_seconds,
            retry=[SNS_TRANSIENT],
            # The execution must end FAILED even when the message cannot be sent.
            catch=[
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.notification_error", "Next": PIPELINE_FAILED}
            ],
            result_path=None,
            next_name=PIPELINE_FAILED,
        ),
    )
    # A fixed error name: a Fail state may not re-raise reserved names such as States.TaskFailed.
    draft.add(PIPELINE_FAILED, {"Type": "Fail", "Error": "PipelineFailed", "CausePath": "$.failure.summary"})
