"""AWS managed policies the stack attaches, as the simulation reads them.

AWSGlueServiceRole, version v5, from its page in the AWS Managed Policy Reference
(https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSGlueServiceRole.html). Only the
statements about Glue, S3 and CloudWatch metrics are kept (its EC2 network-interface and log
statements are left out). The policy has no Deny statement, so a subset of it grants less, never more:
a call allowed here is allowed by the whole policy.
"""

from __future__ import annotations

AWS_GLUE_SERVICE_ROLE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "glue:*",
                "s3:GetBucketLocation",
                "s3:ListBucket",
                "s3:ListAllMyBuckets",
                "s3:GetBucketAcl",
                "iam:ListRolePolicies",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "cloudwatch:PutMetricData",
            ],
            "Resource": ["*"],
        },
        {"Effect": "Allow", "Action": ["s3:CreateBucket"], "Resource": ["arn:aws:s3:::aws-glue-*"]},
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": ["arn:aws:s3:::aws-glue-*/*", "arn:aws:s3:::*/*aws-glue-*/*"],
        },
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": ["arn:aws:s3:::crawler-public*", "arn:aws:s3:::aws-glue-*"],
        },
    ],
}

# By the part of the policy ARN after `arn:<partition>:iam::aws:policy/`.
MANAGED_POLICIES = {"service-role/AWSGlueServiceRole": AWS_GLUE_SERVICE_ROLE}
