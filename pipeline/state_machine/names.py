"""Names of the definition's states, the keys it reads and writes, and where each stage's output lives."""

from __future__ import annotations

from pipeline.layout import NOTIFIER_RESULTS_PREFIX
from pipeline.stages import NOTIFY_ALERTS, PIPELINE_WAVES, Stage

UPLOAD_GUARD = "Triggered by an upload?"
WAIT_FOR_MORE_UPLOADS = "Wait for more uploads"
FIND_NEWEST_EXECUTION = "Find the newest running execution"
NEWEST_EXECUTION_CHOICE = "Is this the newest execution?"
SUPERSEDED = "Superseded by a newer execution"
AS_OF_CHOICE = "As-of given?"
USE_GIVEN_AS_OF = "Use the given as-of"
USE_EXECUTION_DATE = "Use the execution date"
RUN_CONTEXT = "Run context"
READ_CURATION_SUMMARY = "Read the curation summary"
START_CRAWLER = "Start the crawler"
WAIT_FOR_CRAWLER = "Wait for the crawler"
GET_CRAWLER = "Get the crawler state"
CRAWLER_DONE_CHOICE = "Crawler finished?"
COUNT_CRAWLER_POLL = "Count the crawler poll"
CRAWLER_FAILED = "Crawler did not succeed"
CRAWLER_TIMED_OUT = "Crawler timed out"
NOTIFY_FAILURE = "Notify failure"
PIPELINE_FAILED = "Pipeline failed"
PIPELINE_SUCCEEDED = "Pipeline succeeded"

# Folder (in the athena-results bucket) where the notifier writes its CSVs; run_id keeps reruns apart.
NOTIFIER_OUTPUT_PREFIX_FORMAT = NOTIFIER_RESULTS_PREFIX + "{}/"
NOTIFIER_OUTPUT_KEY_FORMAT = NOTIFIER_OUTPUT_PREFIX_FORMAT + NOTIFY_ALERTS.result_file
# The job's bounded summary of its run (counts, flags, where the full report is): the full report lists
# every new raw file and could exceed the 256 KiB state payload quota, which no Catch handles. The job's
# summary_uri is bound to this key by tests/orchestration/test_response_paths.py.
CURATION_SUMMARY_KEY_FORMAT = "_reports/snapshot_date={}/curation_summary.json"
# Where the curate stage leaves that summary in the state data (its reader's ResultPath, then "summary").
CURATION = "$.curation"
CURATION_SUMMARY = f"{CURATION}.summary"


def stage_result_path(stage: Stage) -> str:
    """Where the output of a stage lives in the state data once its wave has run."""
    wave_index, wave = _wave_of(stage)
    if len(wave) == 1:
        return f"$.{stage.name}"
    return f"$.wave_{wave_index}.{stage.name}"


def wave_state_name(wave: tuple[Stage, ...]) -> str:
    """Name of the state that runs one wave: the stage title, or the stage names of a Parallel state."""
    if len(wave) == 1:
        return wave[0].title
    return " + ".join(stage.name for stage in wave)


def failure_state_name(state_name: str) -> str:
    return f"Failed: {state_name}"


def _wave_of(stage: Stage) -> tuple[int, tuple[Stage, ...]]:
    for index, wave in enumerate(PIPELINE_WAVES, start=1):
        if stage in wave:
            return index, wave
    raise ValueError(f"stage {stage.name} is not in PIPELINE_WAVES")
