"""Named retry policies: which transient errors of each integration are retried, and how patiently."""

from __future__ import annotations

from dataclasses import dataclass

# Transient errors of each integration (names as Step Functions reports them); nothing else is retried,
# so a failed Glue run, a failed query or a Lambda bug fails fast into the failure notification.
GLUE_TRANSIENT_ERRORS = (
    "Glue.ThrottlingException",
    "Glue.InternalServiceException",
    "Glue.OperationTimeoutException",
)
GLUE_CONCURRENT_RUN_ERRORS = ("Glue.ConcurrentRunsExceededException",)
ATHENA_TRANSIENT_ERRORS = ("Athena.TooManyRequestsException", "Athena.InternalServerException")
LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
S3_TRANSIENT_ERRORS = (
    "S3.SlowDownException",
    "S3.InternalErrorException",
    "S3.ServiceUnavailableException",
    "S3.SdkClientException",
)
SNS_TRANSIENT_ERRORS = (
    "SNS.ThrottledException",
    "SNS.InternalErrorException",
    "SNS.KMSThrottlingException",
    "SNS.SdkClientException",
)
SFN_TRANSIENT_ERRORS = ("Sfn.ThrottlingException", "Sfn.SdkClientException")
# Raised by the notifier while another invocation holds a digest's idempotency claim: that one either
# publishes (and this retry then skips the digest) or its claim lapses and this retry takes it over.
NOTIFIER_CLAIM_BUSY_ERRORS = ("DigestInProgressError",)
CRAWLER_RUNNING_ERROR = "Glue.CrawlerRunningException"


@dataclass(frozen=True)
class RetryPolicy:
    """One Retrier: exponential backoff capped at max_delay seconds, with full jitter unless told not to."""

    errors: tuple[str, ...]
    interval: int
    attempts: int
    max_delay: int
    rate: float = 2.0
    jitter: bool = True

    def retrier(self) -> dict:
        return {
            "ErrorEquals": list(self.errors),
            "IntervalSeconds": self.interval,
            "MaxAttempts": self.attempts,
            "BackoffRate": self.rate,
            "MaxDelaySeconds": self.max_delay,
            "JitterStrategy": "FULL" if self.jitter else "NONE",
        }


def _brief(errors: tuple[str, ...]) -> RetryPolicy:
    """A quick API call's throttling or service hiccup: six tries within about a minute."""
    return RetryPolicy(errors, interval=2, attempts=6, max_delay=60)


SFN_TRANSIENT = _brief(SFN_TRANSIENT_ERRORS)
LAMBDA_TRANSIENT = _brief(LAMBDA_TRANSIENT_ERRORS)
S3_TRANSIENT = _brief(S3_TRANSIENT_ERRORS)
SNS_TRANSIENT = _brief(SNS_TRANSIENT_ERRORS)
GLUE_TRANSIENT = RetryPolicy(GLUE_TRANSIENT_ERRORS, interval=5, attempts=5, max_delay=120)
ATHENA_TRANSIENT = RetryPolicy(ATHENA_TRANSIENT_ERRORS, interval=5, attempts=6, max_delay=120)
# Another run of the job (an earlier execution, a console rerun) holds the only slot: wait for it rather
# than fail; it may take as long as a whole run.
GLUE_CONCURRENT_RUN = RetryPolicy(GLUE_CONCURRENT_RUN_ERRORS, interval=60, attempts=10, max_delay=900)
# A crawl already running (the schedule-less crawler started by hand, or an overlapping execution) is
# waited for: starting ours after it ends makes sure the new snapshot is seen.
CRAWLER_RUNNING = RetryPolicy((CRAWLER_RUNNING_ERROR,), interval=30, attempts=20, max_delay=300, rate=1.5)


def notifier_claim_busy(task_timeout_seconds: int) -> RetryPolicy:
    """A digest claimed by another invocation: wait that invocation out, then try again.

    Powertools lets a claim lapse when its holder's time is up (the in-progress expiry is the holder's
    remaining time), and the holder started before this task failed, so one task timeout later it has
    either published the digest or lost the claim. No jitter ("NONE: the delay is the computed backoff
    for the given retry attempt count", Step Functions' default): full jitter draws a random wait below
    it, which could spend every attempt before the lapse and fail the execution on a claim about to
    be free.
    """
    return RetryPolicy(
        NOTIFIER_CLAIM_BUSY_ERRORS,
        interval=task_timeout_seconds,
        attempts=3,
        max_delay=4 * task_timeout_seconds,
        jitter=False,
    )
