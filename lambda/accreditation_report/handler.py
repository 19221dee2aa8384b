"""Lambda entry point of the run report: validate the event, wire the S3 adapters, build the report."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from accreditation_notifier.aws_common import parse_s3_uri
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from accreditation_report.aws import LazyS3, S3ReportReader, S3ReportWriter
from accreditation_report.core import build_report
from accreditation_report.model import ConfigurationError, ReportPolicy, ReportRequest

logger = Logger()

POLICY_VARIABLES = ("CRITICAL_MAX_DAYS", "HIGH_MAX_DAYS", "MEDIUM_MAX_DAYS", "EXPIRING_WINDOW_MONTHS")


def parse_request(event: object) -> ReportRequest:
    """The event as a request; every location must be an s3:// URI (the two output locations folders)."""
    request = ReportRequest.from_event(event)
    parse_s3_uri(request.production_location, field="production_location", folder=True)
    parse_s3_uri(request.latest_location, field="latest_location", folder=True)
    if request.curation_report is not None:
        parse_s3_uri(request.curation_report, field="curation_report")
    return request


def policy_from_env(env: Mapping[str, str]) -> ReportPolicy:
    """The alert policy from the environment; each unset setting is the pipeline's default."""
    values = {}
    for name in POLICY_VARIABLES:
        raw = env.get(name, "").strip()
        if not raw:
            continue
        if not raw.isdigit():
            raise ConfigurationError(
                f"environment variable {name} must be a non-negative integer, got {raw!r}"
            )
        values[name.lower()] = int(raw)
    return ReportPolicy(**values)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    try:
        request = parse_request(event)
        logger.append_keys(as_of=request.as_of.isoformat(), run_id=request.run_id)
        s3 = LazyS3()
        summary = build_report(request, S3ReportReader(s3), S3ReportWriter(s3), policy_from_env(os.environ))
    except Exception:
        # Logged here with the event's keys; re-raised so Step Functions sees the failure by error name.
        logger.exception("report failed")
        raise
    logger.info({"message": "report written", **summary})
    return summary
