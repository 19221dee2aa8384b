"""The definition being built: its states, what they are built from, and the one builder of Task states."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pipeline.state_machine.names import failure_state_name
from pipeline.state_machine.retries import RetryPolicy
from pipeline.state_machine.targets import StateMachineSettings, StateMachineTargets

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SNS_PUBLISH = "arn:aws:states:::sns:publish"


def task_state(
    resource: str,
    parameters: dict,
    *,
    timeout: int,
    retry: Sequence[RetryPolicy],
    result_path: str | None,
    next_name: str | None,
    result_selector: dict | None = None,
    output_path: str | None = None,
    catch: list[dict] | None = None,
) -> dict:
    """A Task state; `next_name` None ends its state list. A top-level Task gets its catch-all later."""
    state: dict = {"Type": "Task", "Resource": resource, "Parameters": parameters, "TimeoutSeconds": timeout}
    if retry:
        state["Retry"] = [policy.retrier() for policy in retry]
    if catch is not None:
        state["Catch"] = catch
    if result_selector is not None:
        state["ResultSelector"] = result_selector
    state["ResultPath"] = result_path
    if output_path is not None:
        state["OutputPath"] = output_path
    if next_name is None:
        state["End"] = True
    else:
        state["Next"] = next_name
    return state


@dataclass
class Draft:
    """States added so far, and the top-level ones whose errors go to the failure path."""

    targets: StateMachineTargets
    settings: StateMachineSettings
    sql_loader: Callable[[str], str]
    states: dict[str, dict] = field(default_factory=dict)
    catching_states: list[str] = field(default_factory=list)

    def add(self, name: str, state: dict, *, top_level: bool = False) -> None:
        self.states[name] = state
        if top_level:
            self.catch(name)

    def task(self, name: str, resource: str, parameters: dict, *, top_level: bool, **options) -> None:
        """Add a Task state (options as for task_state); a top-level one catches every error."""
        self.add(name, task_state(resource, parameters, **options), top_level=top_level)

    def catch(self, state_name: str) -> None:
        self.states[state_name]["Catch"] = [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failure_state_name(state_name)}
        ]
        self.catching_states.append(state_name)
