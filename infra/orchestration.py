"""The Step Functions state machine with its role, logs and tracing, and what starts it: uploads, schedule."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.catalog import ATHENA_OUTPUT_PREFIX
from infra.outputs import when_known
from infra.roles import ServiceRole, service_role
from infra.stack import StackContext, ZoneRef
from infra.state_machine_policy import StateMachineAccess, state_machine_policy
from pipeline.sizing import glue_task_timeout_seconds, lambda_task_timeout_seconds
from pipeline.state_machine import StateMachineSettings, StateMachineTargets, build_state_machine

TYPE_TOKEN = "healthcare:index:Orchestration"
# Input of scheduled executions: as_of defaults to the execution's start date.
SCHEDULED_INPUT = "{}"
# Starts that EventBridge and Scheduler cannot deliver at once (StartExecution throttled) retry this long.
MAX_EVENT_AGE_SECONDS = 6 * 3600
MAX_DELIVERY_ATTEMPTS = 20
# The longest Step Functions allows: fewer GenerateDataKey calls per execution.
KMS_DATA_KEY_REUSE_SECONDS = 900
# The schedule stays in the account's default schedule group.
SCHEDULE_GROUP = "default"


@dataclass
class OrchestrationArgs:
    stack: StackContext
    raw: ZoneRef
    curated: ZoneRef
    athena_results: ZoneRef
    production: ZoneRef
    glue_job_name: pulumi.Input[str]
    crawler_name: pulumi.Input[str]
    database_name: pulumi.Input[str]
    workgroup_name: pulumi.Input[str]
    notifier_function_arn: pulumi.Input[str]
    report_function_arn: pulumi.Input[str]
    status_topic_arn: pulumi.Input[str]
    schedule_expression: str
    schedule_timezone: str
    arrival_batch_window_seconds: int
    glue_timeout_minutes: int
    notifier_timeout_seconds: int
    expiring_window_months: int
    # The key of the Glue Data Catalog's metadata when this stack encrypts it (None when it does not);
    # Athena then needs it too.
    catalog_kms_key_arn: pulumi.Input[str] | None


def start_execution_policy(state_machine_arn: str, kms_key_arn: str) -> dict:
    """What EventBridge and Scheduler need to start this one state machine (its input is encrypted with
    the machine's customer-managed key, so the caller generates the data key)."""
    return policies.document(
        policies.statement("StartPipeline", ["states:StartExecution"], state_machine_arn),
        policies.statement("EncryptExecutionInput", ["kms:GenerateDataKey"], kms_key_arn),
    )


def machine_role_policy(
    definition: dict,
    *,
    partition: str,
    region: str,
    account_id: str,
    state_machine_arn: str,
    athena_results_bucket: str,
    curated_bucket: str,
    kms_key_arn: str,
    catalog_kms_key_arn: str | None,
) -> dict:
    """The state machine role's policy for `definition`: its queries read the curated bucket, the stack's key
    encrypts what its tasks touch, and the catalog's key is needed when the stack encrypts the catalog."""
    access = StateMachineAccess(
        partition=partition,
        region=region,
        account_id=account_id,
        state_machine_arn=state_machine_arn,
        athena_results_bucket=athena_results_bucket,
        athena_data_buckets=(curated_bucket,),
        kms_key_arns=(kms_key_arn,),
        catalog_kms_key_arns=(catalog_kms_key_arn,) if catalog_kms_key_arn else (),
    )
    return state_machine_policy(definition, access)


def raw_object_created_pattern(raw_bucket_name: str) -> dict:
    """Object Created events of the raw bucket only: writes to other zones can never start the pipeline."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [raw_bucket_name]}},
    }


def trigger_source_arns(*, partition: str, region: str, account_id: str, rule: str, schedule: str) -> dict:
    """ARNs EventBridge (the rule) and Scheduler (the schedule or its group) assume their roles for."""
    prefix = f"arn:{partition}:%s:{region}:{account_id}"
    return {
        "events": [f"{prefix % 'events'}:rule/{rule}"],
        "scheduler": [
            f"{prefix % 'scheduler'}:schedule-group/{SCHEDULE_GROUP}",
            f"{prefix % 'scheduler'}:schedule/{SCHEDULE_GROUP}/{schedule}",
        ],
    }


def start_command(state_machine_arn: str, region: str) -> str:
    return (
        f"aws stepfunctions start-execution --region {region} "
        f"--state-machine-arn {state_machine_arn} --input '{SCHEDULED_INPUT}'"
    )


class Orchestration(pulumi.ComponentResource):
    state_machine_arn: pulumi.Output[str]
    start_command: pulumi.Output[str]

    def __init__(
        self, name: str, args: OrchestrationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        stack = args.stack
        machine_name = f"{stack.resource_prefix}-pipeline"
        # Known before the machine exists, so the role's policy can name it without a dependency cycle.
        machine_arn = pulumi.Output.concat(
            "arn:",
            stack.partition,
            ":states:",
            stack.region,
            ":",
            stack.account_id,
            ":stateMachine:",
            machine_name,
        )
        state_machine = self._state_machine(name, args, machine_name, machine_arn)
        start_policy = when_known(
            start_execution_policy, state_machine_arn=machine_arn, kms_key_arn=stack.kms_key_arn
        ).apply(json.dumps)
        rule_name = f"{stack.resource_prefix}-raw-arrival"
        schedule_name = f"{stack.resource_prefix}-pipeline"
        # Known before the rule and schedule exist, like the machine's ARN: their roles come first.
        source_arns = when_known(
            trigger_source_arns,
            partition=stack.partition,
            region=stack.region,
            account_id=stack.account_id,
            rule=rule_name,
            schedule=schedule_name,
        )
        self._raw_arrival_trigger(name, args, state_machine, rule_name, start_policy, source_arns)
        self._schedule(name, args, state_machine, schedule_name, start_policy, source_arns)

        self.state_machine_arn = state_machine.arn
        self.start_command = state_machine.arn.apply(lambda arn: start_command(arn, stack.region))
        self.register_outputs(
            {"state_machine_arn": self.state_machine_arn, "start_command": self.start_command}
        )

    def _definition(self, args: OrchestrationArgs) -> pulumi.Output[dict]:
        settings = StateMachineSettings(
            expiring_window_months=args.expiring_window_months,
            arrival_batch_window_seconds=args.arrival_batch_window_seconds,
            glue_timeout_seconds=glue_task_timeout_seconds(args.glue_timeout_minutes),
            notifier_timeout_seconds=lambda_task_timeout_seconds(args.notifier_timeout_seconds),
        )
        targets = when_known(
            StateMachineTargets,
            glue_job_name=args.glue_job_name,
            crawler_name=args.crawler_name,
            database=args.database_name,
            workgroup=args.workgroup_name,
            curated_bucket=args.curated.name,
            athena_results_bucket=args.athena_results.name,
            athena_results_prefix=ATHENA_OUTPUT_PREFIX,
            production_bucket=args.production.name,
            notifier_function_arn=args.notifier_function_arn,
            status_topic_arn=args.status_topic_arn,
            report_function_arn=args.report_function_arn,
        )
        return targets.apply(lambda known: build_state_machine(known, settings))

    def _state_machine(
        self, name: str, args: OrchestrationArgs, machine_name: str, machine_arn: pulumi.Output[str]
    ) -> aws.sfn.StateMachine:
        """The state machine, its role (derived from its definition) and its log group."""
        stack = args.stack
        definition = self._definition(args)
        machine_role = self._machine_role(name, args, definition, machine_arn)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-state-machine-logs",
            # The /aws/vendedlogs/ prefix keeps the log delivery resource policy small (AWS guidance).
            name=f"/aws/vendedlogs/states/{machine_name}",
            retention_in_days=stack.log_retention_days,
            kms_key_id=stack.kms_key_arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.sfn.StateMachine(
            f"{name}-state-machine",
            name=machine_name,
            type="STANDARD",
            role_arn=machine_role.role.arn,
            definition=pulumi.Output.json_dumps(definition),
            # ALL with execution data: every state's input and output (run context, counts, S3 URIs; no
            # record content) is what an operator needs to see where and why a run stopped.
            logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
                log_destination=log_group.arn.apply(lambda arn: f"{arn}:*"),
                include_execution_data=True,
                level="ALL",
            ),
            tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=True),
            # Definition and execution history (inputs, outputs, S3 URIs) under the stack's data key.
            encryption_configuration=aws.sfn.StateMachineEncryptionConfigurationArgs(
                type="CUSTOMER_MANAGED_KMS_KEY",
                kms_key_id=stack.kms_key_arn,
                kms_data_key_reuse_period_seconds=KMS_DATA_KEY_REUSE_SECONDS,
            ),
            # A policy not yet attached when the first execution starts would fail it (IAM propagation).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[machine_role.policy]),
        )

    def _machine_role(
        self,
        name: str,
        args: OrchestrationArgs,
        definition: pulumi.Output[dict],
        machine_arn: pulumi.Output[str],
    ) -> ServiceRole:
        """Assumable by Step Functions for this machine only, allowed exactly what its tasks call."""
        stack = args.stack
        role_policy = when_known(
            machine_role_policy,
            definition=definition,
            partition=stack.partition,
            region=stack.region,
            account_id=stack.account_id,
            state_machine_arn=machine_arn,
            athena_results_bucket=args.athena_results.name,
            curated_bucket=args.curated.name,
            kms_key_arn=stack.kms_key_arn,
            catalog_kms_key_arn=args.catalog_kms_key_arn,
        )
        return self._role(
            name, args, "state-machine", "states", pulumi.Output.json_dumps(role_policy), [machine_arn]
        )

    def _role(
        self,
        name: str,
        args: OrchestrationArgs,
        role: str,
        service: str,
        policy_json: pulumi.Input[str],
        source_arns: pulumi.Input[list[str]],
    ) -> ServiceRole:
        """`<prefix>-<role>`, assumed by `service` (states, events, scheduler) on behalf of `source_arns` of
        the stack's account only."""
        stack = args.stack
        return service_role(
            f"{name}-{role}",
            role_name=f"{stack.resource_prefix}-{role}",
            service=f"{service}.amazonaws.com",
            policy_json=policy_json,
            trust_condition=when_known(
                policies.on_behalf_of, account_id=stack.account_id, source_arns=source_arns
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _raw_arrival_trigger(
        self,
        name: str,
        args: OrchestrationArgs,
        state_machine: aws.sfn.StateMachine,
        rule_name: str,
        start_policy: pulumi.Output[str],
        source_arns: pulumi.Output[dict],
    ) -> None:
        """The EventBridge rule on the raw bucket's Object Created events, its target and its role."""
        events_role = self._role(name, args, "raw-arrival", "events", start_policy, source_arns["events"])
        rule = aws.cloudwatch.EventRule(
            f"{name}-raw-arrival",
            name=rule_name,
            description="Start the pipeline on files landing in the raw bucket",
            event_pattern=args.raw.name.apply(lambda bucket: json.dumps(raw_object_created_pattern(bucket))),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.cloudwatch.EventTarget(
            f"{name}-raw-arrival-target",
            rule=rule.name,
            arn=state_machine.arn,
            role_arn=events_role.role.arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
                maximum_retry_attempts=MAX_DELIVERY_ATTEMPTS,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[events_role.policy]),
        )

    def _schedule(
        self,
        name: str,
        args: OrchestrationArgs,
        state_machine: aws.sfn.StateMachine,
        schedule_name: str,
        start_policy: pulumi.Output[str],
        source_arns: pulumi.Output[dict],
    ) -> None:
        """The daily schedule and its role."""
        scheduler_role = self._role(
            name, args, "schedule", "scheduler", start_policy, source_arns["scheduler"]
        )
        aws.scheduler.Schedule(
            f"{name}-schedule",
            name=schedule_name,
            group_name=SCHEDULE_GROUP,
            description="Daily run of the pipeline with {} (as-of = the execution date).",
            schedule_expression=args.schedule_expression,
            schedule_expression_timezone=args.schedule_timezone,
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=state_machine.arn,
                role_arn=scheduler_role.role.arn,
                input=SCHEDULED_INPUT,
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
                    maximum_retry_attempts=MAX_DELIVERY_ATTEMPTS,
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[scheduler_role.policy]),
        )
