"""The whole definition: the run context, one state (or one Parallel state) per wave, the failure path."""

# Flow (one state, or one Parallel state, per wave of `PIPELINE_WAVES`):
#
#     upload guard (event-started executions only) -> run context (as_of, run_id) -> curate (Glue .sync)
#     -> read the curation summary -> crawler when it asks for one (start, then a bounded poll loop)
#     -> stage 1 / stage 2 / lapsed (Athena .sync, in parallel) -> notifier Lambda / stage 4 (in parallel)
#     -> copy every result to production `as_of=X/` and `latest/` -> the run report (report.html beside them)
#     -> success message on the status topic, naming the report.
#
# Every Task and Parallel state at the top level catches States.ALL into `$.error`, records its own name and
# goes to one failure notification, then to a Fail state, so the execution ends FAILED and alarms fire.

from __future__ import annotations

import json
from collections.abc import Callable

from pipeline.sql_files import load_sql
from pipeline.stages import PIPELINE_WAVES, Stage, StageKind
from pipeline.state_machine.crawler import add_catalog
from pipeline.state_machine.draft import Draft
from pipeline.state_machine.failure import add_failure_path
from pipeline.state_machine.names import PIPELINE_SUCCEEDED, wave_state_name
from pipeline.state_machine.run_context import add_run_context
from pipeline.state_machine.stage_tasks import (
    add_athena_query,
    add_curate,
    add_notify,
    add_publish,
    add_run_report,
    add_success_notification,
)
from pipeline.state_machine.targets import (
    DEFAULT_SETTINGS,
    PLACEHOLDER_TARGETS,
    StateMachineSettings,
    StateMachineTargets,
)

STAGE_BUILDERS: dict[StageKind, Callable[[Draft, Stage, str | None, bool], None]] = {
    StageKind.CURATE: add_curate,
    StageKind.CATALOG: add_catalog,
    StageKind.ATHENA_QUERY: add_athena_query,
    StageKind.NOTIFY: add_notify,
    StageKind.PUBLISH: add_publish,
    StageKind.RUN_REPORT: add_run_report,
    StageKind.REPORT: add_success_notification,
}


def build_state_machine(
    targets: StateMachineTargets,
    settings: StateMachineSettings = DEFAULT_SETTINGS,
    sql_loader: Callable[[str], str] = load_sql,
) -> dict:
    """The state machine definition (Amazon States Language, JSONPath) as a plain dict."""
    draft = Draft(targets, settings, sql_loader)
    start = add_run_context(draft)
    wave_names = [wave_state_name(wave) for wave in PIPELINE_WAVES]
    for index, wave in enumerate(PIPELINE_WAVES):
        next_name = wave_names[index + 1] if index + 1 < len(wave_names) else PIPELINE_SUCCEEDED
        if len(wave) == 1:
            _add_stage(draft, wave[0], next_name, top_level=True)
        else:
            _add_parallel_wave(draft, index + 1, wave, next_name)
    draft.add(PIPELINE_SUCCEEDED, {"Type": "Succeed"})
    add_failure_path(draft)
    for name in draft.states:
        # Names are quoted inside intrinsic string literals (failure summaries): no ' { } or backslash.
        if len(name) > 80 or any(char in name for char in "'{}\\"):
            raise ValueError(f"state name too long or not quotable in an intrinsic: {name!r}")
    return {
        "Comment": "Accreditation monitoring pipeline: curate, catalog, query, notify, publish.",
        "StartAt": start,
        "States": draft.states,
    }


def render_state_machine() -> str:
    """The definition with placeholder names and ARNs, as deterministic, reviewable JSON."""
    return json.dumps(build_state_machine(PLACEHOLDER_TARGETS), indent=2)


def _add_stage(draft: Draft, stage: Stage, next_name: str | None, *, top_level: bool) -> dict[str, dict]:
    """Add the states of one stage (entry state named after stage.title); returns them."""
    before = set(draft.states)
    STAGE_BUILDERS[stage.kind](draft, stage, next_name, top_level)
    return {name: state for name, state in draft.states.items() if name not in before}


def _add_parallel_wave(draft: Draft, index: int, wave: tuple[Stage, ...], next_name: str) -> None:
    branches = []
    for stage in wave:
        branch_states = _add_stage(draft, stage, None, top_level=False)
        for name in branch_states:
            del draft.states[name]
        branches.append({"StartAt": stage.title, "States": branch_states})
    draft.add(
        wave_state_name(wave),
        {
            "Type": "Parallel",
            "Comment": f"Wave {index}: independent stages run side by side.",
            "Branches": branches,
            "ResultSelector": {f"{stage.name}.$": f"$[{position}]" for position, stage in enumerate(wave)},
            "ResultPath": f"$.wave_{index}",
            "Next": next_name,
        },
        top_level=True,
    )
