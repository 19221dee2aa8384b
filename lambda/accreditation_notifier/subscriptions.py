"""SNS subscription filter policies that select national or per-state digests by message attribute.

Every digest carries the String message attributes priority (critical|high|medium), as_of (YYYY-MM-DD),
run_id and scope; per-state digests also carry state. Each tier topic receives, per run, one national
digest (scope=all) and, for every state listed in STATE_DIGEST_STATES that has rows in that tier, one
state digest (scope=state, state=XX) with only that state's rows. Subscribe with a filter policy
(FilterPolicyScope MessageAttributes, the default):

  national recipients:       {"scope": ["all"]}
  people for one state (TX): {"scope": ["state"], "state": ["TX"]}   (TX must be in STATE_DIGEST_STATES)

A subscription without a filter policy receives the national digest and every state digest.
"""

from __future__ import annotations

from accreditation_notifier.model import SCOPE_ALL, SCOPE_STATE

NATIONAL_FILTER_POLICY: dict[str, list[str]] = {"scope": [SCOPE_ALL]}


def state_filter_policy(state: str) -> dict[str, list[str]]:
    """Filter policy of a subscription that must receive one state's digests only."""
    return {"scope": [SCOPE_STATE], "state": [state.strip().upper()]}
