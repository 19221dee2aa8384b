"""The catalog stage: the crawler, only when the curation summary asks for it, polled to its outcome."""

from __future__ import annotations

from pipeline.stages import Stage
from pipeline.state_machine.draft import Draft
from pipeline.state_machine.names import (
    COUNT_CRAWLER_POLL,
    CRAWLER_DONE_CHOICE,
    CRAWLER_FAILED,
    CRAWLER_TIMED_OUT,
    CURATION_SUMMARY,
    GET_CRAWLER,
    START_CRAWLER,
    WAIT_FOR_CRAWLER,
    failure_state_name,
)
from pipeline.state_machine.retries import CRAWLER_RUNNING, GLUE_TRANSIENT

CRAWLER = "$.crawl.status.crawler"


def add_catalog(draft: Draft, stage: Stage, next_name: str | None, top_level: bool) -> None:
    crawler_required = f"{CURATION_SUMMARY}.crawler_required"
    draft.add(
        stage.title,
        {
            "Type": "Choice",
            "Comment": "The job registers its partition itself; a crawl is needed only on the first run or "
            "a schema change. A summary without the flag crawls, the safe side.",
            "Choices": [
                {
                    "And": [
                        {"Variable": crawler_required, "IsPresent": True},
                        {"Variable": crawler_required, "BooleanEquals": False},
                    ],
                    "Next": next_name,
                }
            ],
            "Default": START_CRAWLER,
        },
    )
    _add_crawl(draft, top_level)
    _add_poll_outcome(draft, next_name)
    _add_crawl_failures(draft)


def _add_crawl(draft: Draft, top_level: bool) -> None:
    """Start the crawler, then wait and read its state, once per poll."""
    name = draft.targets.crawler_name
    sdk_timeout = draft.settings.sdk_timeout_seconds
    draft.task(
        START_CRAWLER,
        "arn:aws:states:::aws-sdk:glue:startCrawler",
        {"Name": name},
        next_name=WAIT_FOR_CRAWLER,
        timeout=sdk_timeout,
        retry=[CRAWLER_RUNNING, GLUE_TRANSIENT],
        result_selector={"polls": 0},
        result_path="$.crawl",
        top_level=top_level,
    )
    draft.add(
        WAIT_FOR_CRAWLER,
        {"Type": "Wait", "Seconds": draft.settings.crawler_poll_seconds, "Next": GET_CRAWLER},
    )
    draft.task(
        GET_CRAWLER,
        "arn:aws:states:::aws-sdk:glue:getCrawler",
        {"Name": name},
        next_name=CRAWLER_DONE_CHOICE,
        timeout=sdk_timeout,
        retry=[GLUE_TRANSIENT],
        result_selector={"crawler.$": "$.Crawler"},
        result_path="$.crawl.status",
        top_level=top_level,
    )


def _add_poll_outcome(draft: Draft, next_name: str | None) -> None:
    """Ready after a successful crawl goes on; ready otherwise fails; too many polls time out."""
    state = f"{CRAWLER}.State"
    last_status = f"{CRAWLER}.LastCrawl.Status"
    draft.add(
        CRAWLER_DONE_CHOICE,
        {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        {"Variable": state, "StringEquals": "READY"},
                        {"Variable": last_status, "IsPresent": True},
                        {"Variable": last_status, "StringEquals": "SUCCEEDED"},
                    ],
                    "Next": next_name,
                },
                {"Variable": state, "StringEquals": "READY", "Next": CRAWLER_FAILED},
                {
                    "Variable": "$.crawl.polls",
                    "NumericGreaterThanEquals": draft.settings.crawler_max_polls,
                    "Next": CRAWLER_TIMED_OUT,
                },
            ],
            "Default": COUNT_CRAWLER_POLL,
        },
    )
    draft.add(
        COUNT_CRAWLER_POLL,
        {
            "Type": "Pass",
            "Parameters": {"polls.$": "States.MathAdd($.crawl.polls, 1)"},
            "ResultPath": "$.crawl",
            "Next": WAIT_FOR_CRAWLER,
        },
    )


def _add_crawl_failures(draft: Draft) -> None:
    """A failed or endless crawl becomes an error of the polling task, on the failure path."""
    causes = {
        CRAWLER_FAILED: ("Crawler.Failed", {"Cause.$": f"States.JsonToString({CRAWLER})"}),
        CRAWLER_TIMED_OUT: (
            "Crawler.Timeout",
            {
                "Cause.$": "States.Format('The crawler was still {} after {} polls.', "
                f"{CRAWLER}.State, $.crawl.polls)"
            },
        ),
    }
    for name, (error, cause) in causes.items():
        draft.add(
            name,
            {
                "Type": "Pass",
                "Parameters": {"Error": error, **cause},
                "ResultPath": "$.error",
                "Next": failure_state_name(GET_CRAWLER),
            },
        )
