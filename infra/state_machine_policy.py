"""The state machine role's IAM policy, derived from the definition's Task states (a pure function)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

VERSION = "2012-10-17"
STATES_RESOURCE_PREFIX = "arn:aws:states:::"

# Vended log delivery and X-Ray cannot be scoped to a resource (AWS documents "*" for both).
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
)
TRACING_ACTIONS = (
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
)
# Step Functions' .sync pattern for Glue polls and, on timeout or abort, stops the run.
GLUE_JOB_SYNC_ACTIONS = ("glue:BatchStopJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:StartJobRun")
ATHENA_QUERY_SYNC_ACTIONS = (
    "athena:GetQueryExecution",
    "athena:StartQueryExecution",
    "athena:StopQueryExecution",
)
# Athena resolves the query's data catalog first ("IAM policies for Amazon Athena" in the Step Functions
# guide grants athena:GetDataCatalog for the .sync integration); queries name no catalog, so the default.
ATHENA_DATA_CATALOG_ACTIONS = ("athena:GetDataCatalog",)
DEFAULT_DATA_CATALOG = "AwsDataCatalog"
# What every policy used to access Athena needs on the key of an encrypted Glue Data Catalog (Athena's
# "Access to encrypted metadata in the AWS Glue Data Catalog").
CATALOG_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
# Athena runs with the caller's permissions: catalog reads for the tables it plans over,
CATALOG_READ_ACTIONS = (
    "glue:BatchGetPartition",
    "glue:GetDatabase",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:GetTable",
)
# the data it scans,
DATA_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket")
DATA_OBJECT_ACTIONS = ("s3:GetObject",)
# and the result files it writes (multipart for large results).
RESULTS_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads")
RESULTS_OBJECT_ACTIONS = (
    "s3:AbortMultipartUpload",
    "s3:GetObject",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
)
KMS_DECRYPT = "kms:Decrypt"
KMS_GENERATE = "kms:GenerateDataKey"


class UnsupportedIntegration(ValueError):
    """A Task calls something this module has no permission rule for: add one, do not guess."""


@dataclass(frozen=True)
class StateMachineAccess:
    """What the definition alone does not say: the account, the machine's own ARN and Athena's buckets."""

    partition: str
    region: str
    account_id: str
    state_machine_arn: str
    # Bucket an enforced workgroup writes query results to (the definition names only the workgroup).
    athena_results_bucket: str
    # Buckets holding the tables the queries read.
    athena_data_buckets: tuple[str, ...]
    # Customer-managed keys of the buckets and topics the tasks touch.
    kms_key_arns: tuple[str, ...]
    # Key of the Glue Data Catalog's metadata, when this stack encrypts it (manageCatalogEncryption).
    catalog_kms_key_arns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grant:
    actions: tuple[str, ...]
    resources: tuple[str, ...]


@dataclass(frozen=True)
class Task:
    name: str
    resource: str
    parameters: Mapping


def iter_tasks(definition: Mapping) -> Iterator[Task]:
    """Every Task state, at any depth (Parallel branches, Map iterators)."""
    for name, state in definition["States"].items():
        if state["Type"] == "Task":
            yield Task(name, state["Resource"], state.get("Parameters", {}))
        for branch in state.get("Branches", []):
            yield from iter_tasks(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from iter_tasks(state[key])


def integration_of(resource: str) -> str:
    """`glue:startJobRun.sync`, `aws-sdk:s3:getObject`, ... from a Task's Resource."""
    if not resource.startswith(STATES_RESOURCE_PREFIX):
        raise UnsupportedIntegration(f"not a Step Functions service integration: {resource}")
    return resource[len(STATES_RESOURCE_PREFIX) :]


def state_machine_policy(definition: Mapping, access: StateMachineAccess) -> dict:
    """Least-privilege policy for exactly the tasks of `definition`, plus log delivery and X-Ray."""
    grants: list[Grant] = []
    for task in iter_tasks(definition):
        rule = RULES.get(integration_of(task.resource))
        if rule is None:
            raise UnsupportedIntegration(
                f"task {task.name!r} calls {task.resource}, which has no permission rule"
            )
        grants.extend(rule(task, access))
    grants.append(Grant(LOG_DELIVERY_ACTIONS, ("*",)))
    grants.append(Grant(TRACING_ACTIONS, ("*",)))
    return {"Version": VERSION, "Statement": _statements(grants)}


def _statements(grants: list[Grant]) -> list[dict]:
    """One statement per distinct action set, resources merged; sorted so the document is stable."""
    by_actions: dict[tuple[str, ...], set[str]] = {}
    for grant in grants:
        by_actions.setdefault(tuple(sorted(set(grant.actions))), set()).update(grant.resources)
    merged: dict[tuple[str, ...], set[str]] = {}
    for actions, resources in by_actions.items():
        key = tuple(sorted(resources))
        merged.setdefault(key, set()).update(actions)
    statements = []
    for resources, actions in sorted(merged.items(), key=lambda item: (sorted(item[1]), item[0])):
        services = sorted({action.split(":")[0] for action in actions})
        statements.append(
            {
                "Sid": "".join(service.capitalize() for service in services) + str(len(statements)),
                "Effect": "Allow",
                "Action": sorted(actions),
                "Resource": list(resources) if len(resources) > 1 else resources[0],
            }
        )
    return statements


# -- parameter helpers ----------------------------------------------------------------------------------


def _static(task: Task, name: str) -> str:
    value = task.parameters.get(name)
    if not isinstance(value, str):
        raise UnsupportedIntegration(
            f"task {task.name!r}: {name} must be a fixed string to scope its permission"
        )
    return value


def _static_prefix(task: Task, name: str) -> str:
    """A fixed value, or the fixed text before the first placeholder of a States.Format value."""
    if name in task.parameters:
        return _static(task, name)
    expression = task.parameters.get(f"{name}.$", "")
    match = re.fullmatch(r"States\.Format\('([^'{]*)\{\}.*", expression, flags=re.DOTALL)
    if not match:
        raise UnsupportedIntegration(f"task {task.name!r}: cannot tell which {name} values it uses")
    return match.group(1) + "*"


def _arn(access: StateMachineAccess, service: str, resource: str, *, regional: bool = True) -> str:
    region, account = (access.region, access.account_id) if regional else ("", "")
    return f"arn:{access.partition}:{service}:{region}:{account}:{resource}"


def _s3_object(access: StateMachineAccess, bucket_and_key: str) -> str:
    return f"arn:{access.partition}:s3:::{bucket_and_key}"


def _kms(access: StateMachineAccess, *actions: str) -> Grant:
    return Grant(actions, access.kms_key_arns)


# -- one rule per integration the definition may use ------------------------------------------------------

Rule = Callable[[Task, StateMachineAccess], list[Grant]]


def _glue_job_sync(task: Task, access: StateMachineAccess) -> list[Grant]:
    return [Grant(GLUE_JOB_SYNC_ACTIONS, (_arn(access, "glue", f"job/{_static(task, 'JobName')}"),))]


def _glue_crawler(action: str) -> Rule:
    def rule(task: Task, access: StateMachineAccess) -> list[Grant]:
        return [Grant((action,), (_arn(access, "glue", f"crawler/{_static(task, 'Name')}"),))]

    return rule


def _athena_query_sync(task: Task, access: StateMachineAccess) -> list[Grant]:
    workgroup = _static(task, "WorkGroup")
    context = task.parameters.get("QueryExecutionContext", {})
    database = context.get("Database")
    catalog = context.get("Catalog", DEFAULT_DATA_CATALOG)
    if not isinstance(database, str) or not isinstance(catalog, str):
        raise UnsupportedIntegration(f"task {task.name!r}: QueryExecutionContext must be fixed")
    results = access.athena_results_bucket
    data = access.athena_data_buckets
    catalog_key = (
        [Grant(CATALOG_KEY_ACTIONS, access.catalog_kms_key_arns)] if access.catalog_kms_key_arns else []
    )
    return [
        Grant(ATHENA_QUERY_SYNC_ACTIONS, (_arn(access, "athena", f"workgroup/{workgroup}"),)),
        Grant(ATHENA_DATA_CATALOG_ACTIONS, (_arn(access, "athena", f"datacatalog/{catalog}"),)),
        Grant(
            CATALOG_READ_ACTIONS,
            (
                _arn(access, "glue", "catalog"),
                _arn(access, "glue", f"database/{database}"),
                _arn(access, "glue", f"table/{database}/*"),
            ),
        ),
        Grant(DATA_BUCKET_ACTIONS, tuple(f"arn:{access.partition}:s3:::{bucket}" for bucket in data)),
        Grant(DATA_OBJECT_ACTIONS, tuple(_s3_object(access, f"{bucket}/*") for bucket in data)),
        Grant(RESULTS_BUCKET_ACTIONS, (f"arn:{access.partition}:s3:::{results}",)),
        Grant(RESULTS_OBJECT_ACTIONS, (_s3_object(access, f"{results}/*"),)),
        _kms(access, KMS_DECRYPT, KMS_GENERATE),
        *catalog_key,
    ]


def _s3_get_object(task: Task, access: StateMachineAccess) -> list[Grant]:
    key = _static_prefix(task, "Key")
    return [
        Grant(("s3:GetObject",), (_s3_object(access, f"{_static(task, 'Bucket')}/{key}"),)),
        _kms(access, KMS_DECRYPT),
    ]


def _s3_copy_object(task: Task, access: StateMachineAccess) -> list[Grant]:
    source = _static_prefix(task, "CopySource")
    target = f"{_static(task, 'Bucket')}/{_static_prefix(task, 'Key')}"
    return [
        Grant(("s3:GetObject",), (_s3_object(access, source),)),
        Grant(("s3:PutObject",), (_s3_object(access, target),)),
        _kms(access, KMS_DECRYPT, KMS_GENERATE),
    ]


def _sfn_list_executions(task: Task, access: StateMachineAccess) -> list[Grant]:
    if task.parameters.get("StateMachineArn.$") != "$$.StateMachine.Id":
        raise UnsupportedIntegration(f"task {task.name!r} lists executions of another state machine")
    # IAM lists both resource types as required for ListExecutions; this machine's own Map Runs (it has
    # none) keep the grant as narrow as the stateMachine one.
    map_runs = access.state_machine_arn.replace(":stateMachine:", ":mapRun:", 1) + "/*:*"
    return [Grant(("states:ListExecutions",), (access.state_machine_arn, map_runs))]


def _lambda_invoke(task: Task, access: StateMachineAccess) -> list[Grant]:
    function_arn = _static(task, "FunctionName")
    return [Grant(("lambda:InvokeFunction",), (function_arn, f"{function_arn}:*"))]


def _sns_publish(task: Task, access: StateMachineAccess) -> list[Grant]:
    return [
        Grant(("sns:Publish",), (_static(task, "TopicArn"),)),
        _kms(access, KMS_DECRYPT, KMS_GENERATE),
    ]


# Exactly the integrations the definition uses: a rule no task needs would be a grant ready for nothing.
RULES: dict[str, Rule] = {
    "glue:startJobRun.sync": _glue_job_sync,
    "aws-sdk:glue:startCrawler": _glue_crawler("glue:StartCrawler"),
    "aws-sdk:glue:getCrawler": _glue_crawler("glue:GetCrawler"),
    "athena:startQueryExecution.sync": _athena_query_sync,
    "aws-sdk:s3:getObject": _s3_get_object,
    "aws-sdk:s3:copyObject": _s3_copy_object,
    "aws-sdk:sfn:listExecutions": _sfn_list_executions,
    "lambda:invoke": _lambda_invoke,
    "sns:publish": _sns_publish,
}
