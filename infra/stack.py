"""What the components share: the stack's context and a reference to each storage zone's bucket."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class StackContext:
    """Where the stack deploys and what every component names, encrypts and retains by."""

    resource_prefix: str
    account_id: pulumi.Input[str]
    region: str
    partition: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    log_retention_days: int


@dataclass(frozen=True)
class ZoneRef:
    """One zone's bucket: its name, its ARN and its `s3://<bucket>/` location."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    location: pulumi.Output[str]
