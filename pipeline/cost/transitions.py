"""State transitions Step Functions bills for an execution, counted on the definition itself."""

from __future__ import annotations

import heapq


def transitions_to(definition: dict, target: str) -> int:
    """Fewest state transitions of an execution that ends in state `target` of `definition`.

    Every state entered is one transition (Parallel states count themselves plus each branch's
    path); Choice states may go either way, so this is the cheapest path, which on an ordinary
    day is the path the pipeline takes (no crawler, no upload guard).
    """
    return _shortest_path(definition["States"], definition["StartAt"], target)


def _shortest_path(states: dict, start: str, target: str | None) -> int:
    """Transitions from `start` to `target` (None: to any end of this state list)."""

    def entered(name: str) -> int:
        state = states[name]
        cost = 1
        for branch in state.get("Branches", ()):
            cost += _shortest_path(branch["States"], branch["StartAt"], None)
        return cost

    queue = [(entered(start), start)]
    best: dict[str, int] = {}
    while queue:
        cost, name = heapq.heappop(queue)
        if name in best:
            continue
        best[name] = cost
        state = states[name]
        if name == target or (target is None and (state.get("End") or state["Type"] in ("Succeed", "Fail"))):
            return cost
        followers = [choice["Next"] for choice in state.get("Choices", ())]
        followers += [state[key] for key in ("Next", "Default") if key in state]
        for follower in followers:
            if follower not in best:
                heapq.heappush(queue, (cost + entered(follower), follower))
    raise ValueError(f"no path from {start!r} to {target or 'an end state'!r}")


def ordinary_day_transitions() -> tuple[int, int]:
    """Transitions of an ordinary scheduled run: this design's, and the seed design's.

    The seed design has no Glue job, curation report read or crawler decision: the same
    definition without those three states.
    """
    from pipeline.state_machine import PIPELINE_SUCCEEDED, PLACEHOLDER_TARGETS, build_state_machine

    ours = transitions_to(build_state_machine(PLACEHOLDER_TARGETS), PIPELINE_SUCCEEDED)
    return ours, ours - 3
