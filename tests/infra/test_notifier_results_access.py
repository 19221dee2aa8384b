"""A missing stage result reaches the notifier as "not found" (404), not as an access error (403).

Amazon S3, GetObject, Permissions: "If the object you request doesn't exist, the error that Amazon S3
returns depends on whether you also have the s3:ListBucket permission. If you have the s3:ListBucket
permission on the bucket, Amazon S3 returns an HTTP status code 404 Not Found error. If you don't have the
s3:ListBucket permission, Amazon S3 returns an HTTP status code 403 Access Denied error."
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html). S3 evaluates that ListBucket with the
requested key as `s3:prefix`, so a grant limited by an `s3:prefix` condition covers the keys under it (the
S3-compatible Ceph RGW adopted the same evaluation "to match aws behavior", ceph/ceph#68577); `s3:prefix`
is the condition key of ListBucket in "Actions, resources, and condition keys for Amazon S3"
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).

moto answers 404 whatever the caller's policy says, so the reader below runs against moto's S3 with that
rule applied from the notifier's deployed policy.
"""

from __future__ import annotations

import copy
import json
from fnmatch import fnmatchcase

import boto3
import pytest
from accreditation_notifier.aws import LazyClients, S3ResultsReader
from accreditation_notifier.model import ResultsNotFoundError
from botocore.exceptions import ClientError
from moto import mock_aws
from program_mocks import ACCOUNT_ID

RESULTS_BUCKET = f"hc-accred-dev-athena-results-{ACCOUNT_ID}"
RESULTS_BUCKET_ARN = f"arn:aws:s3:::{RESULTS_BUCKET}"


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def may_list(policy: dict, bucket_arn: str, prefix: str) -> bool:
    """Whether `policy` allows s3:ListBucket on the bucket for `prefix` (StringLike/StringEquals on
    s3:prefix understood; any other condition counts as not met)."""
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow" or "s3:ListBucket" not in _as_list(statement["Action"]):
            continue
        if not any(fnmatchcase(bucket_arn, pattern) for pattern in _as_list(statement["Resource"])):
            continue
        condition = statement.get("Condition", {})
        operators = set(condition)
        if operators - {"StringLike", "StringEquals"} or any(
            set(condition[operator]) - {"s3:prefix"} for operator in operators
        ):
            continue
        like = _as_list(condition.get("StringLike", {}).get("s3:prefix", "*"))
        equals = condition.get("StringEquals", {}).get("s3:prefix")
        if any(fnmatchcase(prefix, pattern) for pattern in like) and (
            equals is None or prefix in _as_list(equals)
        ):
            return True
    return False


class S3AsTheRoleSeesIt:
    """moto's S3 client, except that a missing key answers 403 to a caller the policy does not let list."""

    def __init__(self, client, policy: dict) -> None:
        self._client = client
        self._policy = policy

    def get_object(self, *, Bucket: str, Key: str, **kwargs):
        try:
            return self._client.get_object(Bucket=Bucket, Key=Key, **kwargs)
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchKey" or may_list(
                self._policy, f"arn:aws:s3:::{Bucket}", Key
            ):
                raise
            denied = {
                "Error": {"Code": "AccessDenied", "Message": "Access Denied"},
                "ResponseMetadata": {"HTTPStatusCode": 403},
            }
            raise ClientError(denied, "GetObject") from None


def notifier_policy(deployment) -> dict:
    (policy,) = [
        json.loads(r.inputs["policy"])
        for r in deployment.of_type("aws:iam/rolePolicy:RolePolicy")
        if r.inputs["role"] == "hc-accred-dev-notifier"
    ]
    return policy


def reader_with(policy: dict) -> S3ResultsReader:
    def factory(service: str, **kwargs):
        client = boto3.client(service, **kwargs)
        return S3AsTheRoleSeesIt(client, policy) if service == "s3" else client

    return S3ResultsReader(LazyClients(factory))


@pytest.fixture
def results_bucket():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=RESULTS_BUCKET)
        s3.put_object(Bucket=RESULTS_BUCKET, Key="queries/present.csv", Body=b"facility_id\nF1\n")
        yield s3


def test_the_notifier_may_list_only_the_prefix_of_the_stage_results_it_reads(deployment):
    policy = notifier_policy(deployment)
    assert may_list(policy, RESULTS_BUCKET_ARN, "queries/0f8e-expiring.csv")
    assert not may_list(policy, RESULTS_BUCKET_ARN, "notifier/run-1/accreditation_alerts.csv")
    assert not may_list(policy, RESULTS_BUCKET_ARN, "")
    (listing,) = [s for s in policy["Statement"] if s["Sid"] == "ListStageResults"]
    assert listing["Resource"] == RESULTS_BUCKET_ARN
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["queries/*"]}}


def test_with_the_deployed_policy_a_missing_result_is_not_found(deployment, results_bucket):
    reader = reader_with(notifier_policy(deployment))
    with reader.open_text(f"s3://{RESULTS_BUCKET}/queries/present.csv") as stream:
        assert stream.read() == "facility_id\nF1\n"
    with (
        pytest.raises(ResultsNotFoundError, match=r"queries/missing\.csv"),
        reader.open_text(f"s3://{RESULTS_BUCKET}/queries/missing.csv"),
    ):
        pass


def test_without_list_bucket_a_missing_result_is_an_access_error(deployment, results_bucket):
    # GIVEN the notifier's policy as it was before ListBucket was granted
    policy = copy.deepcopy(notifier_policy(deployment))
    policy["Statement"] = [s for s in policy["Statement"] if "s3:ListBucket" not in _as_list(s["Action"])]
    # THEN S3 answers 403 for the missing object, which the notifier rightly does not call "not found"
    with (
        pytest.raises(ClientError) as raised,
        reader_with(policy).open_text(f"s3://{RESULTS_BUCKET}/queries/missing.csv"),
    ):
        pass
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    assert not isinstance(raised.value, ResultsNotFoundError)


def test_outside_the_listed_prefix_a_missing_object_stays_an_access_error(deployment, results_bucket):
    reader = reader_with(notifier_policy(deployment))
    with pytest.raises(ClientError) as raised, reader.open_text(f"s3://{RESULTS_BUCKET}/other/missing.csv"):
        pass
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
