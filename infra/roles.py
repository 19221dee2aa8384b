"""One IAM role per principal: a service trust policy, one inline policy, a managed one where AWS says so."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import policies


@dataclass(frozen=True)
class ServiceRole:
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    managed_policies: tuple[aws.iam.RolePolicyAttachment, ...] = ()

    @property
    def permissions(self) -> list[pulumi.Resource]:
        """What resources that assume the role depend on, so their first call has its permissions."""
        return [self.policy, *self.managed_policies]


def service_role(
    resource_name: str,
    *,
    role_name: str,
    service: str,
    policy_json: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    managed_policy_arns: Sequence[pulumi.Input[str]] = (),
    trust_condition: pulumi.Input[dict] | None = None,
) -> ServiceRole:
    """`<resource_name>-role` assumable by `service` only (under `trust_condition`, when given), with
    `<resource_name>-policy` inline and the AWS managed policies given (`<resource_name>-managed-<n>`)."""
    trust_policy: pulumi.Input[str] = json.dumps(policies.assume_role_policy(service))
    if trust_condition is not None:
        trust_policy = pulumi.Output.json_dumps(
            pulumi.Output.from_input(trust_condition).apply(
                lambda condition: policies.assume_role_policy(service, condition)
            )
        )
    role = aws.iam.Role(f"{resource_name}-role", name=role_name, assume_role_policy=trust_policy, opts=opts)
    policy = aws.iam.RolePolicy(f"{resource_name}-policy", role=role.id, policy=policy_json, opts=opts)
    attachments = tuple(
        aws.iam.RolePolicyAttachment(
            f"{resource_name}-managed-{index}", role=role.name, policy_arn=policy_arn, opts=opts
        )
        for index, policy_arn in enumerate(managed_policy_arns)
    )
    return ServiceRole(role, policy, attachments)
