"""The definition: valid ASL (npm validator, moto), pinned by a golden file, ordered by pipeline.stages."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from pipeline.sizing import DEFAULT_SIZING
from pipeline.sql_files import load_sql
from pipeline.stages import PIPELINE_STAGES, PIPELINE_WAVES, StageKind
from pipeline.state_machine import (
    AS_OF_CHOICE,
    PLACEHOLDER_TARGETS,
    UPLOAD_GUARD,
    StateMachineSettings,
    build_state_machine,
    render_state_machine,
    wave_state_name,
)

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "state_machine.json"
VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"


def _with_sql_markers(definition: dict) -> dict:
    """The definition with each QueryString replaced by the file it comes from (the SQL has its own tests)."""
    marked = copy.deepcopy(definition)
    by_title = {stage.title: stage for stage in PIPELINE_STAGES}
    for state in _all_states(marked).values():
        parameters = state.get("Parameters", {})
        if "QueryString" in parameters:
            parameters["QueryString"] = f"<sql/{by_title[_state_name_of(marked, state)].sql_file}>"
    return marked


def _all_states(definition: dict) -> dict[str, dict]:
    states = {}
    for name, state in definition["States"].items():
        states[name] = state
        for branch in state.get("Branches", []):
            states.update(_all_states(branch))
    return states


def _state_name_of(definition: dict, wanted: dict) -> str:
    return next(name for name, state in _all_states(definition).items() if state is wanted)


def _validate(path: Path) -> subprocess.CompletedProcess:
    if not VALIDATOR.exists():
        pytest.fail(f"{VALIDATOR} missing: run `npm ci` (make test does)")
    node = shutil.which("node")
    assert node, "node is required by the asl-validator"
    return subprocess.run(
        [str(VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, check=False, timeout=120
    )


@pytest.mark.parametrize(
    "settings",
    [StateMachineSettings(), StateMachineSettings(arrival_batch_window_seconds=0)],
    ids=["with-upload-guard", "without-upload-guard"],
)
def test_asl_validator_accepts_the_definition(tmp_path, settings):
    path = tmp_path / "state_machine.json"
    path.write_text(json.dumps(build_state_machine(PLACEHOLDER_TARGETS, settings)))
    result = _validate(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_asl_validator_rejects_a_broken_definition(tmp_path):
    # Guards the check above: a validator that accepts anything would prove nothing.
    definition = build_state_machine(PLACEHOLDER_TARGETS)
    definition["States"][wave_state_name(PIPELINE_WAVES[0])]["Next"] = "No such state"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(definition))
    assert _validate(path).returncode != 0


def test_moto_parses_the_definition():
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name="pipeline",
            definition=json.dumps(build_state_machine(PLACEHOLDER_TARGETS)),
            roleArn="arn:aws:iam::123456789012:role/pipeline",
        )["stateMachineArn"]
        assert sfn.describe_state_machine(stateMachineArn=arn)["status"] == "ACTIVE"


def test_definition_matches_its_golden_file():
    definition = _with_sql_markers(json.loads(render_state_machine()))
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(definition, indent=2) + "\n")
    assert definition == json.loads(GOLDEN.read_text()), (
        "state machine changed: review, then rerun with UPDATE_GOLDEN=1"
    )


def test_queries_run_the_exact_sql_files():
    states = _all_states(build_state_machine(PLACEHOLDER_TARGETS))
    for stage in PIPELINE_STAGES:
        if stage.kind is StageKind.ATHENA_QUERY:
            assert states[stage.title]["Parameters"]["QueryString"] == load_sql(stage.sql_file)


def test_render_is_deterministic_json_of_the_builder():
    first, second = render_state_machine(), render_state_machine()
    assert first == second
    assert json.loads(first) == build_state_machine(PLACEHOLDER_TARGETS)


def _stage_visit_order(definition: dict) -> list[str]:
    """Titles of the stage entry states, following Next/Default from StartAt (Parallel branches in order)."""
    titles = {stage.title for stage in PIPELINE_STAGES}
    order: list[str] = []
    seen: set[str] = set()
    name = definition["StartAt"]
    while name and name not in seen:
        seen.add(name)
        state = definition["States"][name]
        if name in titles:
            order.append(name)
        for branch in state.get("Branches", []):
            order.extend(t for t in _stage_visit_order(branch) if t not in order)
        # The main line: the first Choice rule leads into the run, Default to the next stage or the crawler.
        name = state.get("Next") or (state.get("Choices") or [{}])[0].get("Next")
        if name and name.startswith("Failed: "):
            break
    return order


def test_state_machine_visits_the_stages_in_pipeline_order():
    definition = build_state_machine(PLACEHOLDER_TARGETS)
    assert _stage_visit_order(definition) == [stage.title for stage in PIPELINE_STAGES]


def test_each_wave_of_several_stages_is_one_parallel_state():
    states = build_state_machine(PLACEHOLDER_TARGETS)["States"]
    for wave in PIPELINE_WAVES:
        state = states[wave_state_name(wave)]
        if len(wave) > 1:
            assert state["Type"] == "Parallel"
            assert [branch["StartAt"] for branch in state["Branches"]] == [stage.title for stage in wave]


def test_every_task_has_a_timeout_and_every_top_level_task_a_catch_all():
    definition = build_state_machine(PLACEHOLDER_TARGETS)
    for name, state in _all_states(definition).items():
        if state["Type"] == "Task":
            assert state["TimeoutSeconds"] > 0, name
    for name, state in definition["States"].items():
        if state["Type"] in ("Task", "Parallel"):
            catchers = state["Catch"]
            assert catchers[-1]["ErrorEquals"] == ["States.ALL"], name
            assert catchers[-1]["ResultPath"].startswith("$."), name


def test_retries_back_off_with_jitter_and_never_retry_what_cannot_heal():
    for name, state in _all_states(build_state_machine(PLACEHOLDER_TARGETS)).items():
        for retrier in state.get("Retry", []):
            # Without jitter only where a wait must outlast the task (the notifier's busy claim, below).
            outlasts_task = retrier["IntervalSeconds"] >= state["TimeoutSeconds"]
            assert retrier["BackoffRate"] > 1, name
            assert retrier["JitterStrategy"] == "FULL" or outlasts_task, name
            assert not {"States.ALL", "States.TaskFailed", "States.Timeout"} & set(retrier["ErrorEquals"]), (
                name
            )


def test_glue_waits_out_a_concurrent_run_instead_of_failing():
    state = build_state_machine(PLACEHOLDER_TARGETS)["States"][wave_state_name(PIPELINE_WAVES[0])]
    retried = {error for retrier in state["Retry"] for error in retrier["ErrorEquals"]}
    assert "Glue.ConcurrentRunsExceededException" in retried


def test_upload_guard_is_first_only_when_enabled():
    assert build_state_machine(PLACEHOLDER_TARGETS)["StartAt"] == UPLOAD_GUARD
    without = build_state_machine(PLACEHOLDER_TARGETS, StateMachineSettings(arrival_batch_window_seconds=0))
    assert without["StartAt"] == AS_OF_CHOICE
    assert UPLOAD_GUARD not in without["States"]


def test_execution_parameters_follow_the_stage_parameter_names():
    settings = StateMachineSettings(expiring_window_months=9)
    states = _all_states(build_state_machine(PLACEHOLDER_TARGETS, settings))
    literal = {
        "as_of": "$.as_of_sql_literal",
        "snapshot_date": "$.as_of_sql_literal",
        "expiring_window_months": "'9'",
    }
    for stage in PIPELINE_STAGES:
        if stage.kind is StageKind.ATHENA_QUERY:
            expected = "States.Array(" + ", ".join(literal[p] for p in stage.parameters) + ")"
            assert states[stage.title]["Parameters"]["ExecutionParameters.$"] == expected


def _retrier_refusals(definition: dict) -> list[str]:
    """Retrier fields Step Functions refuses, where the npm asl-validator accepts them (it passes
    "JitterStrategy": "HALF" and "MaxDelaySeconds": 0). The States Language: "IntervalSeconds ... MUST
    be a positive integer", "MaxAttempts ... MUST be a non-negative integer", "BackoffRate ... MUST be
    greater than or equal to 1.0"; MaxDelaySeconds is "a positive integer"; JitterStrategy takes the
    "Values allowed in the retrier JitterStrategy field": FULL or NONE."""
    refusals = []
    for name, state in _all_states(definition).items():
        for retrier in state.get("Retry", []):
            checks = {
                "ErrorEquals": bool(retrier["ErrorEquals"]),
                "IntervalSeconds": isinstance(retrier.get("IntervalSeconds", 1), int)
                and retrier.get("IntervalSeconds", 1) > 0,
                "MaxAttempts": isinstance(retrier.get("MaxAttempts", 3), int)
                and retrier.get("MaxAttempts", 3) >= 0,
                "BackoffRate": retrier.get("BackoffRate", 2.0) >= 1.0,
                "MaxDelaySeconds": isinstance(retrier.get("MaxDelaySeconds", 1), int)
                and retrier.get("MaxDelaySeconds", 1) > 0,
                "JitterStrategy": retrier.get("JitterStrategy", "NONE") in ("FULL", "NONE"),
            }
            refusals += [f"{name}: {field}" for field, accepted in checks.items() if not accepted]
    return refusals


def test_every_retrier_holds_values_step_functions_accepts():
    definition = build_state_machine(PLACEHOLDER_TARGETS)
    assert _retrier_refusals(definition) == []
    # Guards the check: the values the asl-validator lets through are refused here.
    notify = next(s for s in _all_states(definition).values() if s.get("ResultPath") == "$.notifier")
    notify["Retry"][-1].update(JitterStrategy="HALF", MaxDelaySeconds=0)
    assert len(_retrier_refusals(definition)) == 2


def test_a_busy_digest_claim_is_retried_only_after_its_holder_can_have_lapsed():
    """Powertools' in-progress claim lasts at most its holder's remaining time, under the function's
    timeout; every wait before a retry of the busy error must be at least that, with no jitter to
    shorten it, or all attempts can fall inside the claim and fail the execution."""
    from pipeline.state_machine import NOTIFIER_CLAIM_BUSY_ERRORS

    states = _all_states(build_state_machine(PLACEHOLDER_TARGETS))
    notify = next(s for s in states.values() if s.get("ResultPath") == "$.notifier")
    (busy,) = [r for r in notify["Retry"] if set(r["ErrorEquals"]) & set(NOTIFIER_CLAIM_BUSY_ERRORS)]
    assert busy["JitterStrategy"] == "NONE"
    assert busy["IntervalSeconds"] >= notify["TimeoutSeconds"] > DEFAULT_SIZING.notifier_timeout_seconds


def test_the_notifier_retry_names_an_error_the_notifier_raises():
    from accreditation_notifier import model

    from pipeline.state_machine import NOTIFIER_CLAIM_BUSY_ERRORS

    for name in NOTIFIER_CLAIM_BUSY_ERRORS:
        # Lambda reports an unhandled exception to Step Functions under its class name.
        assert issubclass(getattr(model, name), Exception)
