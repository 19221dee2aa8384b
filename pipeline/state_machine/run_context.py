"""The states before the first stage: the upload guard of event-started executions, then as-of and run id."""

# Burst handling (50 files uploaded within a minute must neither start 50 full pipelines nor fail any
# execution): the EventBridge rule starts one execution per object-created event, with the event as input.
# An execution whose input is such an event (it carries `source`) first waits
# `arrival_batch_window_seconds`, then asks Step Functions for the newest RUNNING execution of this machine
# (ListExecutions sorts newest first). When that is not itself, a later execution exists that started
# after this one's file arrived and will curate that file too, so this one ends in the Succeed state
# `Superseded by a newer execution` without touching Glue. Only the newest execution of a burst runs the
# pipeline. A burst spread out longer than the window may let a second one through; it then waits on
# Glue.ConcurrentRunsExceededException (retried with backoff) and runs incrementally after the first.
# Scheduled and manual executions (input `{}` or `{"as_of": ...}`) skip the guard and always run.

from __future__ import annotations

from pipeline.stages import PIPELINE_WAVES
from pipeline.state_machine.draft import Draft
from pipeline.state_machine.names import (
    AS_OF_CHOICE,
    FIND_NEWEST_EXECUTION,
    NEWEST_EXECUTION_CHOICE,
    RUN_CONTEXT,
    SUPERSEDED,
    UPLOAD_GUARD,
    USE_EXECUTION_DATE,
    USE_GIVEN_AS_OF,
    WAIT_FOR_MORE_UPLOADS,
    wave_state_name,
)
from pipeline.state_machine.retries import SFN_TRANSIENT

RUN_ID = "$$.Execution.Name"


def add_run_context(draft: Draft) -> str:
    """Add the states that lead into the first stage; returns the name of the one to start at."""
    _add_as_of(draft)
    if draft.settings.arrival_batch_window_seconds <= 0:
        return AS_OF_CHOICE
    _add_upload_guard(draft)
    return UPLOAD_GUARD


def _add_as_of(draft: Draft) -> None:
    draft.add(
        AS_OF_CHOICE,
        {
            "Type": "Choice",
            "Choices": [{"Variable": "$.as_of", "IsPresent": True, "Next": USE_GIVEN_AS_OF}],
            "Default": USE_EXECUTION_DATE,
        },
    )
    # Athena takes ExecutionParameters as SQL literals, so the date goes in single quotes. The quote
    # comes in as a value rather than as an escaped quote inside an intrinsic's string literal, which
    # not every ASL implementation (moto's among them) parses.
    draft.add(
        USE_GIVEN_AS_OF,
        {
            "Type": "Pass",
            "Parameters": {"as_of.$": "$.as_of", "run_id.$": RUN_ID, "quote": "'"},
            "Next": RUN_CONTEXT,
        },
    )
    draft.add(
        USE_EXECUTION_DATE,
        {
            "Type": "Pass",
            "Comment": "The UTC date of the execution start: the same default as the Glue job's 'today'.",
            "Parameters": {
                "as_of.$": "States.ArrayGetItem(States.StringSplit($$.Execution.StartTime, 'T'), 0)",
                "run_id.$": RUN_ID,
                "quote": "'",
            },
            "Next": RUN_CONTEXT,
        },
    )
    draft.add(
        RUN_CONTEXT,
        {
            "Type": "Pass",
            "Parameters": {
                "as_of.$": "$.as_of",
                "run_id.$": "$.run_id",
                "as_of_sql_literal.$": "States.Format('{}{}{}', $.quote, $.as_of, $.quote)",
            },
            "Next": wave_state_name(PIPELINE_WAVES[0]),
        },
    )


def _add_upload_guard(draft: Draft) -> None:
    draft.add(
        UPLOAD_GUARD,
        {
            "Type": "Choice",
            "Comment": "Only object-created events carry 'source'; manual and scheduled input runs at once.",
            "Choices": [{"Variable": "$.source", "IsPresent": True, "Next": WAIT_FOR_MORE_UPLOADS}],
            "Default": AS_OF_CHOICE,
        },
    )
    draft.add(
        WAIT_FOR_MORE_UPLOADS,
        {
            "Type": "Wait",
            "Seconds": draft.settings.arrival_batch_window_seconds,
            "Next": FIND_NEWEST_EXECUTION,
        },
    )
    draft.task(
        FIND_NEWEST_EXECUTION,
        "arn:aws:states:::aws-sdk:sfn:listExecutions",
        {"StateMachineArn.$": "$$.StateMachine.Id", "StatusFilter": "RUNNING", "MaxResults": 1},
        next_name=NEWEST_EXECUTION_CHOICE,
        timeout=draft.settings.sdk_timeout_seconds,
        retry=[SFN_TRANSIENT],
        result_selector={
            "newest_execution.$": "$.Executions[0]",
            "this_execution_arn.$": "$$.Execution.Id",
        },
        result_path="$.upload_guard",
        top_level=True,
    )
    draft.add(
        NEWEST_EXECUTION_CHOICE,
        {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.upload_guard.newest_execution.ExecutionArn",
                    "StringEqualsPath": "$.upload_guard.this_execution_arn",
                    "Next": AS_OF_CHOICE,
                }
            ],
            "Default": SUPERSEDED,
        },
    )
    draft.add(
        SUPERSEDED,
        {
            "Type": "Succeed",
            "Comment": "A newer execution started after this upload; it curates this file too.",
        },
    )
