"""Pulumi mocks that run the real __main__.py with a stack's settings, then restore the runtime."""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import yaml
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import CONFIG
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.stack import StackContext

ROOT = Path(__file__).resolve().parents[2]
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]
STACK = "dev"
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
# The dev stack's context, for components built on their own.
DEV_CONTEXT = StackContext(
    resource_prefix="hc-accred-dev",
    account_id=ACCOUNT_ID,
    region=REGION,
    partition="aws",
    kms_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
    log_retention_days=30,
)


@dataclass
class MockedResource:
    type: str
    name: str
    inputs: dict
    state: dict


@dataclass
class Deployment:
    """What one mocked `pulumi up` registered: resources by type and the stack outputs."""

    resources: list[MockedResource] = field(default_factory=list)
    outputs: dict = field(default_factory=dict)

    def of_type(self, type_: str) -> list[MockedResource]:
        return [r for r in self.resources if r.type == type_]


# Resource types whose ARN service differs from their Pulumi module.
ARN_SERVICES = {
    "aws:cloudwatch/logGroup:LogGroup": "logs",
    "aws:cloudwatch/eventRule:EventRule": "events",
    "aws:sfn/stateMachine:StateMachine": "states",
}


def _arn(args: pulumi.runtime.MockResourceArgs, name: str) -> str:
    service = ARN_SERVICES.get(args.typ) or args.typ.split(":")[1].split("/")[0]
    return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{name}"


class PipelineMocks(pulumi.runtime.Mocks):
    """Plausible ids, names and ARNs for every resource; records what the program registered."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        state = dict(inputs)
        name = inputs.get("name") or args.name
        resource_id = name
        typ = args.typ
        if typ == "aws:s3/bucket:Bucket":
            resource_id = inputs["bucket"]
            state.update(arn=f"arn:aws:s3:::{resource_id}", bucket=resource_id)
        elif typ == "aws:kms/key:Key":
            resource_id = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
            state.update(arn=_arn(args, f"key/{resource_id}"), keyId=resource_id)
        elif typ == "aws:sns/topic:Topic":
            state["arn"] = _arn(args, name)
        elif typ == "aws:lambda/function:Function":
            state["arn"] = _arn(args, f"function:{name}")
        elif typ == "aws:dynamodb/table:Table":
            state["arn"] = _arn(args, f"table/{name}")
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            state["arn"] = _arn(args, f"log-group:{name}")
        elif typ == "aws:iam/role:Role":
            state["arn"] = f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"
        elif typ == "aws:glue/job:Job":
            state["arn"] = _arn(args, f"job/{name}")
        elif typ == "aws:glue/crawler:Crawler":
            state["arn"] = _arn(args, f"crawler/{name}")
        elif typ == "aws:sfn/stateMachine:StateMachine":
            # The ARN AWS returns, which the trigger roles' policies name before the machine exists.
            resource_id = _arn(args, f"stateMachine:{name}")
            state["arn"] = resource_id
        elif typ == "aws:athena/workgroup:Workgroup":
            state["arn"] = _arn(args, f"workgroup/{name}")
        else:
            state.setdefault("arn", _arn(args, f"{typ.split(':')[-1].lower()}/{name}"))
        state.setdefault("name", name)
        self.deployment.resources.append(MockedResource(typ, args.name, inputs, state))
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/deployer",
                "userId": "AIDAEXAMPLE",
                "id": ACCOUNT_ID,
            }
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": REGION, "region": REGION, "id": REGION}
        raise NotImplementedError(f"unexpected invoke {args.token}")


def stack_config(path: Path) -> dict[str, str]:
    """A stack file's config as the Pulumi engine hands it to a program: strings, objects as JSON."""
    config = yaml.safe_load(path.read_text())["config"]

    def as_string(value) -> str:
        if isinstance(value, dict | list):
            return json.dumps(value)
        if isinstance(value, bool):
            return str(value).lower()
        return str(value)

    return {key: as_string(value) for key, value in config.items()}


async def _resolve(value):
    """Await every Output nested in `value`."""
    if isinstance(value, pulumi.Output):
        return await _resolve(await value.future())
    if isinstance(value, dict):
        return {key: await _resolve(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [await _resolve(item) for item in value]
    return value


def run_program(program, config: dict[str, str], stack: str = STACK) -> Deployment:
    """Run `program` under mocks with `config`; restore the Pulumi runtime and config afterwards."""
    deployment = Deployment()
    saved_config = dict(CONFIG.get())
    try:
        pulumi.runtime.set_all_config(config)
        pulumi.runtime.set_mocks(PipelineMocks(deployment), project=PROJECT, stack=stack, preview=False)

        async def run_and_collect() -> None:
            program()
            root = pulumi_settings.get_root_resource()
            deployment.outputs = await _resolve(dict(root.outputs))

        _sync_await(run_pulumi_func(run_and_collect))
        return deployment
    finally:
        pulumi.runtime.set_all_config(saved_config)
        pulumi_settings.reset_options()
        CONFIG.set(saved_config)


def run_main(config: dict[str, str], stack: str = STACK) -> Deployment:
    """Run the real __main__.py, as `pulumi up` would, for `stack`."""
    return run_program(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"), config, stack)
