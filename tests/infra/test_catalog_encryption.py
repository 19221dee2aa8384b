"""Glue Data Catalog encryption: an opt-in, and when on, every role that reads the catalog may use its key."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

import pytest
from program_mocks import ACCOUNT_ID, ROOT, run_main, stack_config

from infra.state_machine_policy import StateMachineAccess, state_machine_policy
from pipeline.state_machine import PLACEHOLDER_TARGETS, build_state_machine

CATALOG_ENCRYPTION = "aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
# The roles whose code or service reads tables from the catalog: the Glue job (partitions), the crawler
# (tables) and the state machine (Athena runs its queries with the caller's permissions).
CATALOG_READERS = ("hc-accred-dev-glue-job", "hc-accred-dev-crawler", "hc-accred-dev-state-machine")
# Athena, "Access to encrypted metadata in the AWS Glue Data Catalog".
CATALOG_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt")


def allows(document: dict, action: str, resource: str) -> bool:
    for statement in document["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if (
            statement["Effect"] == "Allow"
            and "Condition" not in statement
            and any(fnmatchcase(action, pattern) for pattern in actions)
            and any(fnmatchcase(resource, pattern) for pattern in resources)
        ):
            return True
    return False


def inline_policies(deployment) -> dict[str, dict]:
    return {
        r.inputs["role"]: json.loads(r.inputs["policy"])
        for r in deployment.of_type("aws:iam/rolePolicy:RolePolicy")
    }


@pytest.fixture(scope="module")
def encrypted_catalog(dev_config):
    return run_main({**dev_config, "healthcare-accreditation:manageCatalogEncryption": "true"})


def test_catalog_encryption_is_an_opt_in(deployment):
    """Off by default and in the dev stack: the setting is account- and region-wide, so turning it on
    makes every other Glue and Athena user of the account need kms permissions on this stack's key.

    Sources: "Encrypting your Data Catalog" (AWS Glue Developer Guide),
    https://docs.aws.amazon.com/glue/latest/dg/encrypt-glue-data-catalog.html; "Access to encrypted
    metadata in the AWS Glue Data Catalog" (Amazon Athena User Guide),
    https://docs.aws.amazon.com/athena/latest/ug/access-encrypted-data-glue-data-catalog.html
    """
    assert deployment.of_type(CATALOG_ENCRYPTION) == []
    defaults = run_main({"aws:region": "us-east-1", "healthcare-accreditation:namePrefix": "hc-accred"})
    assert defaults.of_type(CATALOG_ENCRYPTION) == []


def test_an_opted_in_stack_encrypts_the_catalog_with_its_key(encrypted_catalog):
    (catalog,) = encrypted_catalog.of_type(CATALOG_ENCRYPTION)
    settings = catalog.inputs["dataCatalogEncryptionSettings"]
    assert settings["encryptionAtRest"] == {"catalogEncryptionMode": "SSE-KMS", "sseAwsKmsKeyId": KEY_ARN}
    assert settings["connectionPasswordEncryption"] == {
        "returnConnectionPasswordEncrypted": True,
        "awsKmsKeyId": KEY_ARN,
    }


def test_every_role_that_reads_the_catalog_may_use_its_key(encrypted_catalog):
    """Athena: "If the AWS Glue Data Catalog is encrypted, you must add the following actions to all
    policies that are used to access Athena": kms:GenerateDataKey, kms:Decrypt, kms:Encrypt on the key.

    Source: "Access to encrypted metadata in the AWS Glue Data Catalog" (Amazon Athena User Guide),
    https://docs.aws.amazon.com/athena/latest/ug/access-encrypted-data-glue-data-catalog.html
    """
    documents = inline_policies(encrypted_catalog)
    missing = [
        (role, action)
        for role in CATALOG_READERS
        for action in CATALOG_KEY_ACTIONS
        if not allows(documents[role], action, KEY_ARN)
    ]
    assert missing == []


def test_without_catalog_encryption_the_state_machine_gets_no_catalog_key_grant(deployment):
    machine = inline_policies(deployment)["hc-accred-dev-state-machine"]
    assert not allows(machine, "kms:Encrypt", KEY_ARN)


ACCESS = StateMachineAccess(
    partition="aws",
    region="us-east-1",
    account_id=ACCOUNT_ID,
    state_machine_arn=f"arn:aws:states:us-east-1:{ACCOUNT_ID}:stateMachine:hc-accred-dev-pipeline",
    athena_results_bucket=PLACEHOLDER_TARGETS.athena_results_bucket,
    athena_data_buckets=(PLACEHOLDER_TARGETS.curated_bucket,),
    kms_key_arns=(KEY_ARN,),
)


def test_athena_tasks_may_read_their_data_catalog():
    """The policy Step Functions documents for `athena:startQueryExecution.sync` includes
    athena:GetDataCatalog; the queries run in the default catalog, AwsDataCatalog.

    Source: "IAM policies for calling Amazon Athena" in "Run Athena queries with Step Functions" (AWS Step
    Functions Developer Guide), https://docs.aws.amazon.com/step-functions/latest/dg/athena-iam.html
    """
    policy = state_machine_policy(build_state_machine(PLACEHOLDER_TARGETS), ACCESS)
    catalog = f"arn:aws:athena:us-east-1:{ACCOUNT_ID}:datacatalog/AwsDataCatalog"
    assert allows(policy, "athena:GetDataCatalog", catalog)
    assert not allows(policy, "athena:GetDataCatalog", catalog.replace("AwsDataCatalog", "other"))


def test_athena_tasks_may_use_the_key_of_an_encrypted_catalog():
    """Sources: "IAM policies for calling Amazon Athena" (Step Functions),
    https://docs.aws.amazon.com/step-functions/latest/dg/athena-iam.html; "Access to encrypted metadata in
    the AWS Glue Data Catalog" (Athena),
    https://docs.aws.amazon.com/athena/latest/ug/access-encrypted-data-glue-data-catalog.html
    """
    catalog_key = KEY_ARN.replace("0b1c2d3e", "c47a1095")
    access = StateMachineAccess(**{**vars(ACCESS), "catalog_kms_key_arns": (catalog_key,)})
    policy = state_machine_policy(build_state_machine(PLACEHOLDER_TARGETS), access)
    assert [action for action in CATALOG_KEY_ACTIONS if not allows(policy, action, catalog_key)] == []
    without = state_machine_policy(build_state_machine(PLACEHOLDER_TARGETS), ACCESS)
    assert not allows(without, "kms:Encrypt", catalog_key)


def test_dev_config_reads_the_opt_in_as_off():
    config = stack_config(ROOT / "Pulumi.dev.yaml")
    assert config["healthcare-accreditation:manageCatalogEncryption"] == "false"
