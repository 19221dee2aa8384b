"""Evaluates access requests against the stack's identity and resource policies with npm iam-simulate."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from iam_managed_policies import MANAGED_POLICIES
from iam_requests import AccessRequest, Stack

SCRIPT = Path(__file__).with_name("simulate.mjs")
ROOT = Path(__file__).resolve().parents[3]
ALLOWED = "Allowed"


@dataclass(frozen=True)
class Decision:
    request: AccessRequest
    result: str
    detail: dict

    @property
    def allowed(self) -> bool:
        return self.result == ALLOWED


def resource_policy_name(stack: Stack, resource: str) -> str | None:
    """Which resource policy AWS evaluates with a request on `resource`: the bucket's, key's or topic's."""
    if resource.startswith("arn:aws:s3:::"):
        bucket = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
        return f"bucket:{bucket}" if bucket in stack.bucket_policies else None
    if resource in stack.key_policies:
        return f"key:{resource}"
    if resource in stack.topic_policies:
        return f"topic:{resource}"
    return None


def identity_policies(stack: Stack, role: str) -> list[str]:
    """The names of the role's inline policy and of the AWS managed policies attached to it."""
    inline = [f"identity:{role}"] if role in stack.role_policies else []
    return inline + [f"managed:{name}" for name in stack.managed_policies.get(role, [])]


def simulate(stack: Stack, requests: Sequence[AccessRequest]) -> list[Decision]:
    """One node process evaluates every request; decisions come back in the order of `requests`."""
    node = shutil.which("node")
    assert node, "node is required for the IAM simulation (see README: Node 20 with npm)"
    policies = {f"identity:{role}": document for role, document in stack.role_policies.items()}
    policies.update({f"managed:{name}": document for name, document in MANAGED_POLICIES.items()})
    policies.update({f"bucket:{name}": document for name, document in stack.bucket_policies.items()})
    policies.update({f"key:{arn}": document for arn, document in stack.key_policies.items()})
    policies.update({f"topic:{arn}": document for arn, document in stack.topic_policies.items()})
    payload = {
        "policies": policies,
        "requests": [
            {
                "id": index,
                "principal": f"arn:aws:iam::{stack.account_id}:role/{request.role}",
                "action": request.action,
                "resource": request.resource,
                "accountId": stack.account_id,
                # Every client of the stack uses TLS (the bucket and topic policies deny anything else).
                "context": {"aws:SecureTransport": "true", **dict(request.context)},
                "identityPolicies": identity_policies(stack, request.role),
                "resourcePolicy": resource_policy_name(stack, request.resource),
            }
            for index, request in enumerate(requests)
        ],
    }
    finished = subprocess.run(
        [node, str(SCRIPT)], input=json.dumps(payload), capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert finished.returncode == 0, f"iam-simulate failed: {finished.stderr[-4000:]}"
    results = json.loads(finished.stdout)
    return [Decision(requests[r["id"]], r["result"], r.get("detail") or {}) for r in results]
