"""The stack's Python Lambda functions: arm64, X-Ray, the stack's key, and a log group made before them."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.config import NotifierSettings
from infra.roles import ServiceRole
from infra.stack import StackContext

RUNTIME = "python3.12"


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
    role: ServiceRole,
    sizing: NotifierSettings,
    environment: pulumi.Input[dict],
    log_group: aws.cloudwatch.LogGroup,
    stack: StackContext,
    parent: pulumi.Resource,
) -> aws.lambda_.Function:
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
