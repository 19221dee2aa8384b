"""On-demand list prices and billing minimums, and what each service bills for a quantity."""

from __future__ import annotations

import math
from dataclasses import dataclass

MIB = 1024 * 1024
TIB = 1024**4


@dataclass(frozen=True)
class Prices:
    """On-demand list prices, us-east-1, without free tiers (a stack's other usage may already spend them)."""

    # "AWS Glue pricing": Spark jobs (Glue 2.0+) billed per second with a 1-minute minimum;
    # G.1X = 1 DPU per worker, at least 2 workers.
    glue_standard_dpu_hour: float = 0.44
    glue_flex_dpu_hour: float = 0.29
    glue_minimum_seconds: float = 60.0
    glue_dpu_per_worker: float = 1.0
    # "AWS Glue pricing": crawlers billed per second with a 10-minute minimum per run; the page's
    # worked example crawler uses 2 DPUs.
    crawler_dpu_hour: float = 0.44
    crawler_minimum_seconds: float = 600.0
    crawler_dpus: float = 2.0
    # "Amazon Athena pricing": $5 per TB scanned, rounded up to the nearest megabyte, 10 MB minimum
    # per query. Binary units, as AWS bills them.
    athena_per_tib: float = 5.0
    athena_minimum_bytes: int = 10 * MIB
    athena_rounding_bytes: int = MIB
    # "AWS Step Functions pricing": Standard workflows, $0.025 per 1,000 state transitions.
    step_functions_per_transition: float = 0.025 / 1000
    # "AWS Lambda pricing": x86, $0.0000166667 per GB-second and $0.20 per 1M requests.
    lambda_gb_second: float = 0.0000166667
    lambda_per_request: float = 0.20 / 1_000_000
    # "Amazon S3 pricing": S3 Standard, PUT/COPY/POST/LIST $0.005 per 1,000, GET $0.0004 per 1,000;
    # storage $0.023 per GB-month (first 50 TB).
    s3_put_per_request: float = 0.005 / 1000
    s3_get_per_request: float = 0.0004 / 1000
    s3_storage_gb_month: float = 0.023
    # "Amazon SNS pricing": $0.50 per 1M publishes. "Amazon DynamoDB pricing": on-demand,
    # $0.625 per 1M write request units (the notifier's idempotency records).
    sns_per_publish: float = 0.50 / 1_000_000
    dynamodb_per_write: float = 0.625 / 1_000_000


DEFAULT_PRICES = Prices()


def athena_billed_bytes(scanned_bytes: float, prices: Prices = DEFAULT_PRICES) -> int:
    """Bytes Athena bills for one query: rounded up to the megabyte, at least the per-query minimum."""
    rounded = math.ceil(scanned_bytes / prices.athena_rounding_bytes) * prices.athena_rounding_bytes
    return max(prices.athena_minimum_bytes, rounded)


def glue_billed_dpu_seconds(job_seconds: float, workers: int, prices: Prices = DEFAULT_PRICES) -> float:
    return workers * prices.glue_dpu_per_worker * max(prices.glue_minimum_seconds, job_seconds)


def crawler_run_dollars(crawl_seconds: float = 0.0, prices: Prices = DEFAULT_PRICES) -> float:
    billed = max(prices.crawler_minimum_seconds, crawl_seconds)
    return prices.crawler_dpus * billed / 3600 * prices.crawler_dpu_hour
