"""The stack's Python Lambda functions, declared in one place: a log group made before the function, a role
named like the function, then the function itself (arm64, X-Ray, the stack's key)."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from infra.config import NotifierSettings
from infra.roles import service_role
from infra.stack import StackContext

RUNTIME = "python3.12"
# The role's inline policy, given the ARN of the function's log group (the policy lets it write there).
PolicyOfLogGroup = Callable[[pulumi.Output[str]], pulumi.Output[dict]]


def function_log_group(
    resource_name: str, function_name: str, stack: StackContext, opts: pulumi.ResourceOptions
) -> aws.cloudwatch.LogGroup:
    """Created before the function, so Lambda never creates it without retention or encryption."""
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=f"/aws/lambda/{function_name}",
        retention_in_days=stack.log_retention_days,
        kms_key_id=stack.kms_key_arn,
        opts=opts,
    )


def python_function(
    resource_name: str,
    *,
    function_name: str,
    description: str,
    handler: str,
    code: pulumi.Archive,
    policy: PolicyOfLogGroup,
    sizing: NotifierSettings,
    environment: pulumi.Input[dict],
    stack: StackContext,
    parent: pulumi.Resource,
) -> aws.lambda_.Function:
    """`<resource_name>-logs`, the role `<resource_name>` (assumable by Lambda only) and the function."""
    child = pulumi.ResourceOptions(parent=parent)
    log_group = function_log_group(f"{resource_name}-logs", function_name, stack, child)
    role = service_role(
        resource_name,
        role_name=function_name,
        service="lambda.amazonaws.com",
        policy_json=pulumi.Output.json_dumps(policy(log_group.arn)),
        opts=child,
    )
    return aws.lambda_.Function(
        resource_name,
        name=function_name,
        description=description,
        runtime=RUNTIME,
        architectures=["arm64"],
        handler=handler,
        role=role.role.arn,
        code=code,
        memory_size=sizing.memory_mb,
        timeout=sizing.timeout_seconds,
        tracing_config={"mode": "Active"},
        kms_key_arn=stack.kms_key_arn,
        environment={"variables": environment},
        logging_config={"log_format": "Text", "log_group": log_group.name},
        # IAM is eventually consistent: the role must carry its policy before Lambda assumes it.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[role.policy, log_group]),
    )
