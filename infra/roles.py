"""One IAM role per principal: a service trust policy plus one inline policy, and nothing else."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import policies


@dataclass(frozen=True)
class ServiceRole:
    role: aws.iam.Role
    # Resources that assume the role depend on this, so their first call has its permissions.
    policy: aws.iam.RolePolicy


def service_role(
    resource_name: str,
    *,
    role_name: str,
    service: str,
    policy_json: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> ServiceRole:
    """`<resource_name>-role` assumable by `service` only, with `<resource_name>-policy` inline."""
    role = aws.iam.Role(
        f"{resource_name}-role",
        name=role_name,
        assume_role_policy=json.dumps(policies.assume_role_policy(service)),
        opts=opts,
    )
    policy = aws.iam.RolePolicy(f"{resource_name}-policy", role=role.id, policy=policy_json, opts=opts)
    return ServiceRole(role, policy)
