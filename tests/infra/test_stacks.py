"""Both shipped stacks, dev and prod, run under the mocks, side by side in one account and region."""

from __future__ import annotations

import re

import pytest
from program_mocks import ROOT, run_main, stack_config

STACKS = ("dev", "prod")
# Where a resource type keeps its physical name, when not in `name`.
NAME_INPUTS = {"aws:s3/bucket:Bucket": "bucket", "aws:cloudwatch/dashboard:Dashboard": "dashboardName"}
# One per account and region, whatever its name: at most one stack may manage it.
ACCOUNT_SINGLETONS = ("aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings",)


def physical_names(deployment) -> set[tuple[str, str]]:
    """(type, name) of every resource the program names explicitly (the rest Pulumi names uniquely)."""
    names = set()
    for resource in deployment.resources:
        if resource.type.startswith(("healthcare:", "pulumi:")):
            continue
        name = resource.inputs.get(NAME_INPUTS.get(resource.type, "name"))
        if isinstance(name, str):
            names.add((resource.type, name))
    return names


@pytest.fixture(scope="module")
def stacks() -> dict:
    return {stack: run_main(stack_config(ROOT / f"Pulumi.{stack}.yaml"), stack=stack) for stack in STACKS}


def test_both_stacks_run_and_share_no_physical_name(stacks):
    """`pulumi up` per stack in one account and region: no bucket, role, log group, table, topic, job,
    crawler, database, workgroup, state machine, schedule or rule of one stack may carry a name of the
    other's, and no account-wide singleton may be managed by both."""
    dev, prod = (physical_names(stacks[stack]) for stack in STACKS)
    assert len(dev) > 40 and len(prod) == len(dev)
    assert dev & prod == set()
    for type_ in ACCOUNT_SINGLETONS:
        assert sum(bool(stacks[stack].of_type(type_)) for stack in STACKS) <= 1, type_


def test_every_physical_name_carries_its_stack(stacks):
    for stack in STACKS:
        for type_, name in physical_names(stacks[stack]):
            assert re.search(rf"(^|[-_/]){stack}([-_/]|$)", name), (stack, type_, name)


def test_prod_keeps_data_and_logs_longer_and_never_force_destroys(stacks):
    prod = stacks["prod"]
    assert all(b.inputs["forceDestroy"] is False for b in prod.of_type("aws:s3/bucket:Bucket"))
    (workgroup,) = prod.of_type("aws:athena/workgroup:Workgroup")
    assert workgroup.inputs["forceDestroy"] is False
    assert {g.inputs["retentionInDays"] for g in prod.of_type("aws:cloudwatch/logGroup:LogGroup")} == {365}
    (job,) = prod.of_type("aws:glue/job:Job")
    assert job.inputs["executionClass"] == "STANDARD"
    dev = stacks["dev"]
    assert all(b.inputs["forceDestroy"] is True for b in dev.of_type("aws:s3/bucket:Bucket"))


def test_both_stack_files_set_the_same_documented_keys():
    documented = set(re.findall(r"^\| `([A-Za-z:]+)`", (ROOT / "docs" / "deploy.md").read_text(), re.M))
    documented |= {"criticalMaxDays", "highMaxDays", "mediumMaxDays"}
    keys = {stack: set(stack_config(ROOT / f"Pulumi.{stack}.yaml")) for stack in STACKS}
    assert keys["dev"] == keys["prod"]
    undocumented = {
        key.split(":", 1)[1] for key in keys["prod"] if key.startswith("healthcare-")
    } - documented
    assert undocumented == set()
