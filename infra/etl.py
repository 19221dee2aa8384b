"""Etl: the curation Glue job, its script and package objects, role and log group."""

from __future__ import annotations

import base64
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.config import METRICS_NAMESPACE, GlueJobSettings
from infra.outputs import when_known
from infra.roles import ServiceRole, service_role
from infra.stack import StackContext, ZoneRef

TYPE_TOKEN = "healthcare:index:Etl"
GLUE_VERSION = "5.1"
REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
SCRIPT_PATH = REPOSITORY_ROOT / "glue_jobs" / "curate_facilities.py"
SCRIPT_KEY = "glue_jobs/curate_facilities.py"
# What the script imports, zipped with its package path at the archive's root (glue_jobs/curation/...), so
# Glue, the tests and the local runner import it by the same names.
PACKAGE_KEY = "glue_jobs/curation.zip"
PACKAGE_SOURCES = ("glue_jobs/__init__.py", "glue_jobs/curation")
# The objects the job runs from, which its role reads.
CODE_KEYS = (SCRIPT_KEY, PACKAGE_KEY)
# Every entry gets this timestamp and mode: the same sources always give the same archive, so an unchanged
# package never shows as a change on deploy.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o644
# Glue 5 writes system, Spark and GlueLogger logs to `.../error`, the script's stdout/stderr to `.../output`.
LOG_STREAMS = ("error", "output")


@dataclass
class EtlArgs:
    stack: StackContext
    raw: ZoneRef
    curated: ZoneRef
    quarantine: ZoneRef
    artifacts: ZoneRef
    database_name: pulumi.Input[str]
    security_configuration_name: pulumi.Input[str]
    max_rejected_ratio: float
    glue: GlueJobSettings


def package_archive(root: Path) -> bytes:
    """The zip of the curation package under `root` (PACKAGE_SOURCES, Python sources only), byte for byte
    the same for the same sources."""
    files: list[Path] = []
    for source in PACKAGE_SOURCES:
        path = root / source
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in files:
            entry = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=ZIP_TIMESTAMP)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = ZIP_FILE_MODE << 16
            archive.writestr(entry, path.read_bytes())
    return buffer.getvalue()


def default_arguments(
    *,
    package_location: str,
    raw_location: str,
    curated_location: str,
    quarantine_location: str,
    database: str,
    max_rejected_ratio: float,
    log_group_prefix: str,
    metrics_stack: str,
) -> dict[str, str]:
    """Every job argument with a value that works as is, so a console rerun needs no typing."""
    return {
        # The curation package the script imports, added to the Python path before the script runs.
        "--extra-py-files": package_location,
        "--raw_location": raw_location,
        "--curated_location": curated_location,
        "--quarantine_location": quarantine_location,
        "--as_of": "today",
        "--run_id": "manual",
        "--max_rejected_ratio": str(max_rejected_ratio),
        "--database": database,
        "--rebuild": "false",
        # The run's counts reach CloudWatch as EMF lines on stdout (the `output` log group), no API call.
        "--metrics_namespace": METRICS_NAMESPACE,
        "--metrics_stack": metrics_stack,
        "--job-language": "python",
        "--enable-metrics": "true",
        "--enable-observability-metrics": "true",
        # Glue 5 logs in real time to two groups under this prefix; the Glue 4 continuous-logging
        # options (--enable-continuous-cloudwatch-log, --continuous-log-logGroup) do nothing there.
        "--custom-logGroup-prefix": log_group_prefix,
        # The job keeps its own watermark (a manifest beside each snapshot): Glue's bookmark stays off.
        "--job-bookmark-option": "job-bookmark-disable",
    }


def job_log_group_names(*, prefix: str, security_configuration: str, role_name: str) -> tuple[str, ...]:
    """The groups Glue 5 writes a job's logs to when its security configuration encrypts CloudWatch logs:
    `<prefix>/<security configuration>-role/<role name>/error` and `.../output`."""
    return tuple(f"{prefix}/{security_configuration}-role/{role_name}/{stream}" for stream in LOG_STREAMS)


class Etl(pulumi.ComponentResource):
    job_name: pulumi.Output[str]
    script_location: pulumi.Output[str]

    def __init__(self, name: str, args: EtlArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        prefix = args.stack.resource_prefix
        job_name = f"{prefix}-curate-facilities"
        job_role_name = f"{prefix}-glue-job"
        log_group_prefix = f"/aws-glue/jobs/{job_name}"
        code = self._upload_code(name, args)
        self.script_location = pulumi.Output.concat(args.artifacts.location, SCRIPT_KEY)
        job_role = self._job_role(name, args, job_role_name)
        log_groups = self._log_groups(name, args, log_group_prefix, job_role_name)
        job = self._job(
            name,
            args,
            job_name=job_name,
            job_role=job_role,
            log_group_prefix=log_group_prefix,
            # IAM is eventually consistent: the role must carry its policy before the first run.
            depends_on=[job_role.policy, *code, *log_groups],
        )

        self.job_name = job.name
        self.register_outputs({"job_name": self.job_name, "script_location": self.script_location})

    def _upload_code(self, name: str, args: EtlArgs) -> tuple[aws.s3.BucketObject, aws.s3.BucketObject]:
        """The script and its package in the artifacts bucket: the job can write curated data but never its
        own code, and deployed code keeps its own lifecycle (versioned, never expired)."""
        child = pulumi.ResourceOptions(parent=self)
        encryption = {"server_side_encryption": "aws:kms", "kms_key_id": args.stack.kms_key_arn}
        script = aws.s3.BucketObject(
            f"{name}-script",
            bucket=args.artifacts.name,
            key=SCRIPT_KEY,
            source=pulumi.FileAsset(str(SCRIPT_PATH)),
            content_type="text/x-python",
            **encryption,
            opts=child,
        )
        package = aws.s3.BucketObject(
            f"{name}-package",
            bucket=args.artifacts.name,
            key=PACKAGE_KEY,
            content_base64=base64.b64encode(package_archive(REPOSITORY_ROOT)).decode("ascii"),
            content_type="application/zip",
            **encryption,
            opts=child,
        )
        return script, package

    def _job_role(self, name: str, args: EtlArgs, role_name: str) -> ServiceRole:
        stack = args.stack
        document = when_known(
            policies.glue_job_policy,
            partition=stack.partition,
            region=stack.region,
            account_id=stack.account_id,
            raw_bucket_arn=args.raw.arn,
            curated_bucket_arn=args.curated.arn,
            quarantine_bucket_arn=args.quarantine.arn,
            code_object_arns=[pulumi.Output.concat(args.artifacts.arn, "/", key) for key in CODE_KEYS],
            database=args.database_name,
            kms_key_arn=stack.kms_key_arn,
        )
        return service_role(
            f"{name}-job",
            role_name=role_name,
            service="glue.amazonaws.com",
            policy_json=pulumi.Output.json_dumps(document),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _log_groups(
        self, name: str, args: EtlArgs, log_group_prefix: str, role_name: str
    ) -> list[aws.cloudwatch.LogGroup]:
        """Created before the job, so Glue never creates them itself without the key or a retention."""
        log_group_names = pulumi.Output.from_input(args.security_configuration_name).apply(
            lambda security_configuration: job_log_group_names(
                prefix=log_group_prefix, security_configuration=security_configuration, role_name=role_name
            )
        )
        return [
            aws.cloudwatch.LogGroup(
                f"{name}-job-{stream}-logs",
                name=log_group_names[index],
                retention_in_days=args.stack.log_retention_days,
                kms_key_id=args.stack.kms_key_arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for index, stream in enumerate(LOG_STREAMS)
        ]

    def _job(
        self,
        name: str,
        args: EtlArgs,
        *,
        job_name: str,
        job_role: ServiceRole,
        log_group_prefix: str,
        depends_on: list[pulumi.Resource],
    ) -> aws.glue.Job:
        arguments = when_known(
            default_arguments,
            package_location=pulumi.Output.concat(args.artifacts.location, PACKAGE_KEY),
            raw_location=args.raw.location,
            curated_location=args.curated.location,
            quarantine_location=args.quarantine.location,
            database=args.database_name,
            max_rejected_ratio=args.max_rejected_ratio,
            log_group_prefix=log_group_prefix,
            metrics_stack=args.stack.resource_prefix,
        )
        return aws.glue.Job(
            f"{name}-job",
            name=job_name,
            description="Curate raw NDJSON facility records into the partitioned Parquet snapshot",
            role_arn=job_role.role.arn,
            glue_version=GLUE_VERSION,
            command={"name": "glueetl", "python_version": "3", "script_location": self.script_location},
            worker_type=args.glue.worker_type,
            number_of_workers=args.glue.number_of_workers,
            execution_class="FLEX" if args.glue.flex else "STANDARD",
            timeout=args.glue.timeout_minutes,
            # Step Functions owns retries (with backoff); a Glue retry would double them.
            max_retries=0,
            execution_property={"max_concurrent_runs": 1},
            security_configuration=args.security_configuration_name,
            default_arguments=arguments,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
