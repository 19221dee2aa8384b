"""What each role asks IAM for: recorded calls and documented service-side calls, as (role, action, resource).

Sources, by the page of AWS documentation each rule follows:

- Actions of API operations: the Service Authorization Reference ("Actions, resources, and condition keys
  for Amazon S3 / AWS Glue / Amazon SNS / Amazon DynamoDB / AWS Step Functions / Amazon Athena"),
  https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
  (DeleteObjects is authorized as s3:DeleteObject on each key; multipart parts as s3:PutObject).
- Glue Data Catalog ARNs: every table operation needs the catalog, the database and the table
  ("Specifying AWS Glue resource ARNs", https://docs.aws.amazon.com/glue/latest/dg/glue-specifying-resource-arns.html).
- SSE-KMS: reading an object needs kms:Decrypt, writing one kms:GenerateDataKey, a multipart upload both
  ("Using server-side encryption with AWS KMS keys (SSE-KMS)",
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms, and
  "Multipart upload API and permissions", https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions).
- A missing object answers 404 only to a caller with s3:ListBucket, otherwise 403
  ("GetObject", Permissions, https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html): code that
  handles NoSuchKey needs ListBucket on that key.
- SNS topics encrypted with a customer managed key: the publisher needs kms:GenerateDataKey and kms:Decrypt
  ("Encryption at rest", Key management, https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
- DynamoDB tables under a customer managed key: DynamoDB uses the key through the caller's permissions
  (kms:ViaService dynamodb) ("How Amazon DynamoDB uses AWS KMS",
  https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html).
- Athena runs a query with the caller's credentials: it reads the Glue catalog (GetDatabase, GetTable,
  GetPartitions), lists and reads the table data, and writes the result files
  ("Access to Amazon S3", https://docs.aws.amazon.com/athena/latest/ug/s3-permissions.html;
  "Fine-grained access to databases and tables", https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html;
  "Permissions to encrypted data in Amazon S3", https://docs.aws.amazon.com/athena/latest/ug/encryption.html;
  "Permissions to encrypted metadata in the AWS Glue Data Catalog",
  https://docs.aws.amazon.com/athena/latest/ug/access-encrypted-data-glue-data-catalog.html).
- Step Functions' integrations: the calls each pattern makes ("IAM policies for integrated services",
  https://docs.aws.amazon.com/step-functions/latest/dg/service-integration-iam-templates.html); a state
  machine encrypted with a customer managed key needs kms:Decrypt and kms:GenerateDataKey for its role, and
  kms:GenerateDataKey for whoever starts it ("Data at rest encryption",
  https://docs.aws.amazon.com/step-functions/latest/dg/encryption-at-rest.html).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from iam_glue_job import JobRecording
from iam_recording import RecordedCall
from program_mocks import Deployment
from sqlglot import expressions

from infra.state_machine_policy import Task, integration_of, iter_tasks
from pipeline.state_machine import NOTIFIER_OUTPUT_KEY_FORMAT


@dataclass(frozen=True)
class AccessRequest:
    """One authorization IAM makes: who, what, on which ARN, with which request context, and why."""

    role: str
    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    reason: str = ""

    @property
    def triple(self) -> tuple[str, str, str]:
        return (self.role, self.action, self.resource)


class UnmappedCall(AssertionError):
    """A recorded call that has no action rule here: add one from the Service Authorization Reference."""


# -- the stack as the Pulumi program produced it under mocks ----------------------------------------------


@dataclass
class Stack:
    """Names, ARNs, keys and policies of one mocked deployment, in the shapes the rules below need."""

    account_id: str
    region: str
    outputs: dict
    role_policies: dict[str, dict]
    # AWS managed policies attached to a role, by their name after `arn:<partition>:iam::aws:policy/`.
    managed_policies: dict[str, list[str]]
    roles: dict[str, str]
    bucket_keys: dict[str, str | None]
    bucket_policies: dict[str, dict]
    key_policies: dict[str, dict]
    topic_keys: dict[str, str | None]
    topic_policies: dict[str, dict]
    table_keys: dict[str, str | None]
    lambda_environment: dict[str, str]
    state_machine: dict
    glue_job: dict
    crawler: dict
    log_groups: tuple[str, ...]
    athena_output_location: str
    catalog_key: str | None
    partition: str = "aws"

    @classmethod
    def from_deployment(cls, deployment: Deployment, account_id: str, region: str) -> Stack:
        def inputs(type_: str) -> list[dict]:
            return [r.inputs for r in deployment.of_type(type_)]

        def load(document: str | dict) -> dict:
            return json.loads(document) if isinstance(document, str) else document

        (function,) = [
            f
            for f in inputs("aws:lambda/function:Function")
            if f["name"] == deployment.outputs["notifier_function_name"]
        ]
        (job,) = inputs("aws:glue/job:Job")
        (crawler,) = inputs("aws:glue/crawler:Crawler")
        managed: dict[str, list[str]] = {}
        for attachment in inputs("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
            name = attachment["policyArn"].split(":policy/", 1)[1]
            managed.setdefault(attachment["role"], []).append(name)
        (machine,) = inputs("aws:sfn/stateMachine:StateMachine")
        (schedule,) = inputs("aws:scheduler/schedule:Schedule")
        (workgroup,) = inputs("aws:athena/workgroup:Workgroup")
        raw_arrival = [t for t in inputs("aws:cloudwatch/eventTarget:EventTarget") if "roleArn" in t]
        (arrival,) = raw_arrival
        schedule_target = schedule["target"]
        functions = {f["name"]: f for f in inputs("aws:lambda/function:Function")}
        report = functions.get(deployment.outputs.get("report_function_name", ""))
        roles = {
            **({"report": report["role"]} if report else {}),
            "notifier": function["role"],
            "glue_job": job["roleArn"],
            "crawler": crawler["role"],
            "state_machine": machine["roleArn"],
            "raw_arrival": arrival["roleArn"],
            "schedule": schedule_target["roleArn"],
        }
        bucket_keys = {}
        for config in inputs(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        ):
            (rule,) = config["rules"]
            default = rule["applyServerSideEncryptionByDefault"]
            bucket_keys[config["bucket"]] = (
                default.get("kmsMasterKeyId") if default["sseAlgorithm"] == "aws:kms" else None
            )
        topics = deployment.of_type("aws:sns/topic:Topic")
        catalog_settings = inputs("aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings")
        catalog_key = None
        for settings in catalog_settings:
            at_rest = settings["dataCatalogEncryptionSettings"]["encryptionAtRest"]
            if at_rest.get("catalogEncryptionMode") == "SSE-KMS":
                catalog_key = at_rest.get("sseAwsKmsKeyId")
        return cls(
            account_id=account_id,
            region=region,
            outputs=deployment.outputs,
            role_policies={r["role"]: load(r["policy"]) for r in inputs("aws:iam/rolePolicy:RolePolicy")},
            managed_policies=managed,
            roles={kind: arn.rsplit("/", 1)[1] for kind, arn in roles.items()},
            bucket_keys=bucket_keys,
            bucket_policies={
                r["bucket"]: load(r["policy"]) for r in inputs("aws:s3/bucketPolicy:BucketPolicy")
            },
            key_policies={
                r.state["arn"]: load(r.inputs["policy"]) for r in deployment.of_type("aws:kms/key:Key")
            },
            topic_keys={t.state["arn"]: t.inputs.get("kmsMasterKeyId") for t in topics},
            topic_policies={r["arn"]: load(r["policy"]) for r in inputs("aws:sns/topicPolicy:TopicPolicy")},
            table_keys={
                t.state["arn"]: (t.inputs.get("serverSideEncryption") or {}).get("kmsKeyArn")
                for t in deployment.of_type("aws:dynamodb/table:Table")
            },
            lambda_environment=function["environment"]["variables"],
            state_machine={
                "arn": deployment.outputs["state_machine_arn"],
                "definition": load(machine["definition"]),
                "key": (machine.get("encryptionConfiguration") or {}).get("kmsKeyId"),
            },
            glue_job=job,
            crawler=crawler,
            log_groups=tuple(r["name"] for r in inputs("aws:cloudwatch/logGroup:LogGroup")),
            athena_output_location=workgroup["configuration"]["resultConfiguration"]["outputLocation"],
            catalog_key=catalog_key,
        )

    def bucket(self, zone: str) -> str:
        return self.outputs[f"{zone.replace('-', '_')}_bucket"]

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"

    def catalog_arns(self, database: str, table: str | None = None) -> list[str]:
        arns = [self.arn("glue", "catalog"), self.arn("glue", f"database/{database}")]
        if table is not None:
            arns.append(self.arn("glue", f"table/{database}/{table}"))
        return arns


def s3_arn(bucket: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" if key is None else f"arn:aws:s3:::{bucket}/{key}"


def _context(**values: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(values.items()))


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


@dataclass
class Requests:
    """Collects the requests of one role, with the service-side calls each API call implies."""

    stack: Stack
    role: str
    found: list[AccessRequest] = field(default_factory=list)

    def add(self, action: str, resource: str, reason: str, context: dict[str, str] | None = None) -> None:
        self.found.append(AccessRequest(self.role, action, resource, _context(**(context or {})), reason))

    def kms(self, key: str | None, actions: Iterable[str], reason: str, via: str) -> None:
        for action in actions if key else ():
            self.add(action, key, reason, {"kms:ViaService": via})

    def _via(self, service: str) -> str:
        return f"{service}.{self.stack.region}.amazonaws.com"

    # -- S3 --------------------------------------------------------------------------------------------
    def s3_read(self, bucket: str, key: str, reason: str, *, handles_missing: bool = False) -> None:
        self.add("s3:GetObject", s3_arn(bucket, key), reason)
        self.kms(
            self.stack.bucket_keys.get(bucket), ["kms:Decrypt"], f"{reason} (SSE-KMS read)", self._via("s3")
        )
        if handles_missing:
            self.list_bucket(bucket, key, f"{reason} (404, not 403, for a missing key)")

    def s3_write(self, bucket: str, key: str, reason: str, *, multipart: bool = False) -> None:
        self.add("s3:PutObject", s3_arn(bucket, key), reason)
        actions = ["kms:GenerateDataKey", "kms:Decrypt"] if multipart else ["kms:GenerateDataKey"]
        self.kms(self.stack.bucket_keys.get(bucket), actions, f"{reason} (SSE-KMS write)", self._via("s3"))

    def list_bucket(self, bucket: str, prefix: str, reason: str) -> None:
        self.add("s3:ListBucket", s3_arn(bucket), reason, {"s3:prefix": prefix})

    # -- everything else -------------------------------------------------------------------------------
    def glue(self, operation: str, database: str, table: str | None, reason: str) -> None:
        for arn in self.stack.catalog_arns(database, table):
            self.add(f"glue:{operation}", arn, reason)
        self.kms(self.stack.catalog_key, ["kms:Decrypt"], f"{reason} (encrypted catalog)", self._via("glue"))

    def publish(self, topic_arn: str, reason: str) -> None:
        self.add("sns:Publish", topic_arn, reason)
        key = self.stack.topic_keys.get(topic_arn)
        self.kms(
            key, ["kms:GenerateDataKey", "kms:Decrypt"], f"{reason} (KMS-encrypted topic)", self._via("sns")
        )

    def item(self, operation: str, table: str, reason: str) -> None:
        table_arn = self.stack.arn("dynamodb", f"table/{table}")
        self.add(f"dynamodb:{operation}", table_arn, reason)
        self.kms(
            self.stack.table_keys.get(table_arn),
            ["kms:Decrypt"],
            f"{reason} (table key)",
            self._via("dynamodb"),
        )


# -- recorded boto3 calls ----------------------------------------------------------------------------------

# S3 operations a multipart upload is made of; IAM authorizes each part as s3:PutObject.
MULTIPART_PARTS = {"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}
ITEM_OPERATIONS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}
TABLE_OPERATIONS = {
    "GetTable",
    "GetPartitions",
    "GetPartition",
    "CreatePartition",
    "UpdatePartition",
    "BatchDeletePartition",
    "BatchCreatePartition",
    "BatchGetPartition",
}


class Binding:
    """Maps the names a recording used to the stack's; the identity when the recording used the stack's."""

    def bucket(self, name: str) -> str:
        return name

    def key(self, bucket: str, key: str) -> str:
        return key

    def topic(self, arn: str) -> str:
        return arn

    def table(self, name: str) -> str:
        return name


def recorded_requests(
    stack: Stack, role: str, calls: Iterable[RecordedCall], binding: Binding | None = None
) -> list[AccessRequest]:
    """The requests behind recorded calls, under the stack's names."""
    bind = binding or Binding()
    requests = Requests(stack, role)
    for call in calls:
        reason = f"{call.service}:{call.operation}" + (f" ({call.test})" if call.test else "")
        params = call.params
        if call.service == "s3":
            bucket = bind.bucket(params["Bucket"])
            key = functools.partial(bind.key, params["Bucket"])
            if call.operation == "ListObjectsV2":
                requests.list_bucket(bucket, key(params.get("Prefix", "")), reason)
            elif call.operation in ("GetObject", "HeadObject"):
                missing = call.error_code in ("NoSuchKey", "404")
                requests.s3_read(bucket, key(params["Key"]), reason, handles_missing=missing)
            elif call.operation == "PutObject":
                requests.s3_write(bucket, key(params["Key"]), reason)
            elif call.operation in MULTIPART_PARTS:
                requests.s3_write(bucket, key(params["Key"]), reason, multipart=True)
            elif call.operation == "AbortMultipartUpload":
                requests.add("s3:AbortMultipartUpload", s3_arn(bucket, key(params["Key"])), reason)
            elif call.operation == "DeleteObjects":
                for entry in params["Delete"]["Objects"]:
                    requests.add("s3:DeleteObject", s3_arn(bucket, key(entry["Key"])), reason)
            else:
                raise UnmappedCall(f"no rule for s3:{call.operation}")
        elif call.service == "glue" and call.operation in TABLE_OPERATIONS:
            table = params.get("TableName") or params["Name"]
            requests.glue(call.operation, params["DatabaseName"], table, reason)
        elif call.service == "sns" and call.operation == "Publish":
            requests.publish(bind.topic(params["TopicArn"]), reason)
        elif call.service == "dynamodb" and call.operation in ITEM_OPERATIONS:
            requests.item(call.operation, bind.table(params["TableName"]), reason)
        else:
            raise UnmappedCall(f"no rule for {call.service}:{call.operation}")
    return requests.found


# -- the state machine's integrations, from its deployed definition ----------------------------------------

SAMPLE_VALUE = "2026-12-01"


def _value(task: Task, name: str) -> str | None:
    """A parameter's fixed value, or a States.Format value with a sample in each placeholder."""
    if name in task.parameters:
        return task.parameters[name]
    expression = task.parameters.get(f"{name}.$")
    if expression is None:
        return None
    match = re.fullmatch(r"States\.Format\('((?:[^']|\\')*)'.*\)", expression, flags=re.DOTALL)
    if not match:
        return None
    return match.group(1).replace("{}", SAMPLE_VALUE)


def _tables_read(query: str) -> list[str]:
    tree = sqlglot.parse_one(query, read="trino")
    ctes = {cte.alias_or_name for cte in tree.find_all(expressions.CTE)}
    return sorted({t.name for t in tree.find_all(expressions.Table) if t.name not in ctes})


def state_machine_requests(stack: Stack) -> list[AccessRequest]:
    """Every call the deployed definition's tasks make, plus Athena's and KMS's calls on the role's behalf."""
    requests = Requests(stack, stack.roles["state_machine"])
    definition = stack.state_machine["definition"]
    results_bucket = stack.bucket("athena-results")
    results_prefix = _athena_output_prefix(stack)
    for task in iter_tasks(definition):
        integration = integration_of(task.resource)
        reason = f"{task.name}: {integration}"
        if integration == "glue:startJobRun.sync":
            job = stack.arn("glue", f"job/{task.parameters['JobName']}")
            for action in ("StartJobRun", "GetJobRun", "GetJobRuns", "BatchStopJobRun"):
                requests.add(f"glue:{action}", job, reason)
        elif integration in ("aws-sdk:glue:startCrawler", "aws-sdk:glue:getCrawler"):
            action = "StartCrawler" if integration.endswith("startCrawler") else "GetCrawler"
            requests.add(f"glue:{action}", stack.arn("glue", f"crawler/{task.parameters['Name']}"), reason)
        elif integration == "athena:startQueryExecution.sync":
            _athena_query(requests, stack, task, reason, results_bucket, results_prefix)
        elif integration == "aws-sdk:s3:getObject":
            requests.s3_read(task.parameters["Bucket"], _value(task, "Key"), reason)
        elif integration == "aws-sdk:s3:copyObject":
            source_bucket, source_key = _value(task, "CopySource").split("/", 1)
            requests.s3_read(source_bucket, source_key, f"{reason} (source)")
            requests.s3_write(task.parameters["Bucket"], _value(task, "Key"), f"{reason} (target)")
        elif integration == "aws-sdk:sfn:listExecutions":
            requests.add("states:ListExecutions", stack.state_machine["arn"], reason)
        elif integration == "lambda:invoke":
            requests.add("lambda:InvokeFunction", task.parameters["FunctionName"], reason)
        elif integration == "sns:publish":
            requests.publish(task.parameters["TopicArn"], reason)
        else:
            raise UnmappedCall(f"task {task.name!r}: no rule for {integration}")
    requests.kms(
        stack.state_machine["key"],
        ["kms:Decrypt", "kms:GenerateDataKey"],
        "execution data encrypted with the customer managed key",
        f"states.{stack.region}.amazonaws.com",
    )
    return requests.found


def _athena_output_prefix(stack: Stack) -> str:
    # The workgroup enforces its output location, so every query writes under it.
    return stack.athena_output_location.removeprefix(f"s3://{stack.bucket('athena-results')}/")


def _athena_query(
    requests: Requests, stack: Stack, task: Task, reason: str, results_bucket: str, results_prefix: str
) -> None:
    workgroup = task.parameters["WorkGroup"]
    database = task.parameters["QueryExecutionContext"]["Database"]
    for action in ("StartQueryExecution", "GetQueryExecution", "StopQueryExecution"):
        requests.add(f"athena:{action}", stack.arn("athena", f"workgroup/{workgroup}"), reason)
    query = f"{reason} (Athena, with the role's credentials)"
    requests.add("athena:GetDataCatalog", stack.arn("athena", "datacatalog/AwsDataCatalog"), query)
    requests.glue("GetDatabase", database, None, query)
    curated = stack.bucket("curated")
    for table in _tables_read(task.parameters["QueryString"]):
        for operation in ("GetTable", "GetPartitions"):
            requests.glue(operation, database, table, query)
        partition = f"{table}/snapshot_date={SAMPLE_VALUE}/"
        requests.add("s3:GetBucketLocation", s3_arn(curated), query)
        requests.list_bucket(curated, partition, query)
        requests.s3_read(curated, f"{partition}run_id=sample/part-00000.zstd.parquet", query)
    results_key = f"{results_prefix}sample-query-id.csv"
    requests.add("s3:GetBucketLocation", s3_arn(results_bucket), query)
    for key in (results_key, f"{results_key}.metadata"):
        requests.s3_write(results_bucket, key, query)


def glue_job_requests(stack: Stack, recording: JobRecording) -> list[AccessRequest]:
    """The job's adapter calls (recorded), its Spark I/O, its script, metrics and logs (Glue's own calls).

    Glue reads the script and writes metrics and logs with the job's role ("Logging for AWS Glue jobs",
    https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html; "AWS Glue job parameters",
    https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html).
    """
    role = stack.roles["glue_job"]
    found = recorded_requests(stack, role, recording.calls)
    requests = Requests(stack, role)
    for run, io in enumerate(recording.spark_io, start=1):
        reason = f"Spark I/O of run {run}"
        for zone, key in io.reads:
            requests.s3_read(stack.bucket(zone), key, f"{reason}: read")
        for zone, prefix in io.read_prefixes:
            requests.list_bucket(stack.bucket(zone), prefix, f"{reason}: list before reading")
        for zone, key in io.writes:
            requests.s3_write(stack.bucket(zone), key, f"{reason}: write", multipart=True)
        for zone, prefix in io.written_prefixes:
            requests.list_bucket(stack.bucket(zone), prefix, f"{reason}: overwrite check")
            staging = f"{prefix}_temporary/0/_temporary/attempt/part-00000"
            requests.s3_write(stack.bucket(zone), staging, f"{reason}: committer staging", multipart=True)
            requests.add(
                "s3:DeleteObject", s3_arn(stack.bucket(zone), staging), f"{reason}: committer cleanup"
            )
    bucket, key = _split_s3(stack.glue_job["command"]["scriptLocation"])
    requests.s3_read(bucket, key, "Glue loads the job script")
    arguments = stack.glue_job["defaultArguments"]
    if arguments.get("--enable-metrics") == "true":
        requests.add("cloudwatch:PutMetricData", "*", "--enable-metrics", {"cloudwatch:namespace": "Glue"})
    prefix = arguments.get("--custom-logGroup-prefix")
    for group in stack.log_groups:
        if prefix and group.startswith(prefix + "/"):
            stream = stack.arn("logs", f"log-group:{group}:log-stream:sample-run")
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                requests.add(action, stream, f"Glue writes the run's logs to {group}")
    return found + requests.found


@dataclass
class NotifierBinding(Binding):
    """The notifier's tests name their moto resources freely; each stands for one deployed resource.

    Stage results are Athena output files, which the deployed workgroup writes under its output prefix
    (the state machine passes their output_location), so a test's results key moves under that prefix;
    the alerts CSV keeps its key, which the state machine builds the same way the tests do.
    """

    stack: Stack
    testkit: Any

    def _names(self) -> dict[tuple[str, str], str]:
        env = self.stack.lambda_environment
        topic = f"arn:aws:sns:{self.stack.region}:{self.stack.account_id}:accreditation-"
        return {
            ("bucket", self.testkit.RESULTS_BUCKET): self.stack.bucket("athena-results"),
            ("bucket", self.testkit.PRODUCTION_BUCKET): self.stack.bucket("production"),
            ("table", self.testkit.LEDGER_TABLE): env["IDEMPOTENCY_TABLE"],
            **{("topic", topic + tier): env[f"{tier.upper()}_TOPIC_ARN"] for tier in self.testkit.TIERS},
        }

    def _bind(self, kind: str, name: str) -> str:
        names = self._names()
        if (kind, name) not in names:
            raise UnmappedCall(
                f"the notifier's tests used {kind} {name!r}, which stands for nothing deployed"
            )
        return names[(kind, name)]

    def bucket(self, name: str) -> str:
        return self._bind("bucket", name)

    def key(self, bucket: str, key: str) -> str:
        alerts_prefix = NOTIFIER_OUTPUT_KEY_FORMAT.split("{}")[0]
        if bucket != self.testkit.RESULTS_BUCKET or key.startswith(alerts_prefix):
            return key
        return _athena_output_prefix(self.stack) + key.replace("/", "-")

    def topic(self, arn: str) -> str:
        return self._bind("topic", arn)

    def table(self, name: str) -> str:
        return self._bind("table", name)


def crawler_requests(stack: Stack) -> list[AccessRequest]:
    """What a crawl of the curated table roots asks for with the crawler's role.

    The crawler lists and reads every target path, then creates or updates each table and its
    partitions ("How crawlers work" and "Crawler prerequisites",
    https://docs.aws.amazon.com/glue/latest/dg/crawler-prereqs.html; a re-crawl updates partitions in
    batches: glue:BatchUpdatePartition), and writes its logs to the group its security configuration
    names, associating the key with it ("Encrypting data written by crawlers, jobs, and development
    endpoints", https://docs.aws.amazon.com/glue/latest/dg/encryption-security-configuration.html).
    """
    requests = Requests(stack, stack.roles["crawler"])
    database = stack.crawler["databaseName"]
    reason = "crawl of the curated table roots"
    requests.glue("GetDatabase", database, None, reason)
    for target in stack.crawler["s3Targets"]:
        bucket, prefix = _split_s3(target["path"])
        table = prefix.rstrip("/").rsplit("/", 1)[-1]
        requests.add("s3:GetBucketLocation", s3_arn(bucket), reason)
        requests.list_bucket(bucket, prefix, reason)
        requests.s3_read(
            bucket, f"{prefix}snapshot_date={SAMPLE_VALUE}/run_id=sample/part-00000.parquet", reason
        )
        for operation in (
            "GetTable",
            "GetTables",
            "CreateTable",
            "UpdateTable",
            "GetPartitions",
            "BatchGetPartition",
            "BatchCreatePartition",
            "BatchUpdatePartition",
        ):
            requests.glue(operation, database, table, reason)
    for group in stack.log_groups:
        if group.startswith("/aws-glue/crawlers"):
            group_arn = stack.arn("logs", f"log-group:{group}")
            requests.add("logs:AssociateKmsKey", group_arn, f"{reason}: encrypted logs")
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                requests.add(action, f"{group_arn}:log-stream:{stack.crawler['name']}", f"{reason}: logs")
    return requests.found


@dataclass
class ReportBinding(Binding):
    """The run report's tests use one production and one curated bucket; keys keep their layout."""

    stack: Stack
    test_buckets: Mapping[str, str]

    def bucket(self, name: str) -> str:
        if name not in self.test_buckets:
            raise UnmappedCall(f"the report's tests used bucket {name!r}, which stands for nothing deployed")
        return self.stack.bucket(self.test_buckets[name])


def trigger_requests(stack: Stack) -> list[AccessRequest]:
    """The raw-arrival rule and the schedule start the (encrypted) state machine."""
    found: list[AccessRequest] = []
    for kind in ("raw_arrival", "schedule"):
        requests = Requests(stack, stack.roles[kind])
        requests.add("states:StartExecution", stack.state_machine["arn"], f"{kind} target")
        requests.kms(
            stack.state_machine["key"],
            ["kms:GenerateDataKey"],
            f"{kind}: input of an encrypted state machine",
            f"states.{stack.region}.amazonaws.com",
        )
        found.extend(requests.found)
    return found


def distinct(requests: Iterable[AccessRequest]) -> list[AccessRequest]:
    """One request per (role, action, resource, context); the first reason is kept."""
    seen: dict[tuple, AccessRequest] = {}
    for request in requests:
        seen.setdefault((request.role, request.action, request.resource, request.context), request)
    return list(seen.values())
