"""How big and how patient a stack is unless its config says otherwise; the single home of those defaults."""

from __future__ import annotations

from dataclasses import dataclass

# A .sync task outlives the job's own timeout by this much, so Glue, not Step Functions, reports it.
GLUE_TASK_MARGIN_SECONDS = 600
# A Lambda task outlives the function's own timeout by this much, so Lambda reports the timeout.
LAMBDA_TASK_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class Sizing:
    """Glue capacity, Lambda memory and timeouts, and the upload batching window of a default stack."""

    glue_worker_type: str = "G.1X"
    glue_workers: int = 2
    glue_flex: bool = True
    glue_timeout_minutes: int = 60
    # The notifier's; the run report function is sized the same.
    notifier_memory_mb: int = 512
    notifier_timeout_seconds: int = 120
    # Object-created events that arrive within this many seconds start one execution, not one each.
    arrival_batch_window_seconds: int = 300


DEFAULT_SIZING = Sizing()


def glue_task_timeout_seconds(job_timeout_minutes: int) -> int:
    """TimeoutSeconds of the state machine's Glue task for a job timing out after `job_timeout_minutes`."""
    return job_timeout_minutes * 60 + GLUE_TASK_MARGIN_SECONDS


def lambda_task_timeout_seconds(function_timeout_seconds: int) -> int:
    """TimeoutSeconds of the state machine's Lambda tasks for functions of `function_timeout_seconds`."""
    return function_timeout_seconds + LAMBDA_TASK_MARGIN_SECONDS
