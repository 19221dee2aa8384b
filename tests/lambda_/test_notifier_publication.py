"""Publishing once through Powertools' Idempotency: on moto's DynamoDB (the Lambda's store) and in memory
(the local twin's), the same behaviour: claim, skip a duplicate, refuse a busy claim with the error name the
state machine retries, take over a crashed claim once its invocation is over, release on failure, TTL."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import time
from dataclasses import dataclass

import boto3
import pytest
from accreditation_notifier.aws import LazyClients, dynamodb_publication_store
from accreditation_notifier.model import Digest, DigestInProgressError, DigestKey
from accreditation_notifier.publication import PublicationRecords, publish_once
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from notifier_testkit import AS_OF, LEDGER_TABLE

from infra.notifications import IDEMPOTENCY_KEY, IDEMPOTENCY_TTL_ATTRIBUTE
from pipeline.local.publication_records import MemoryPublicationStore
from pipeline.state_machine.retries import NOTIFIER_CLAIM_BUSY_ERRORS

CRITICAL = DigestKey(AS_OF, "critical", "all")
HIGH = DigestKey(AS_OF, "high", "all")


def digest(key: DigestKey) -> Digest:
    return Digest(key, subject=key.id, message=f"digest {key.id}", attributes={}, listed=1, omitted=0)


class InvocationKilled(BaseException):
    """The runtime ending the process mid-publish (a timeout): no `except Exception` runs, nothing is
    undone."""


class Publisher:
    def __init__(self, fail_with: BaseException | None = None) -> None:
        self.sent: list[str] = []
        self.fail_with = fail_with

    def publish(self, digest: Digest) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(digest.key.id)
        return f"message-{len(self.sent)}"


@dataclass
class Invocation:
    """A Lambda context that tells only how long the invocation has left."""

    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture(params=["dynamodb", "memory"])
def store(request):
    if request.param == "dynamodb":
        request.getfixturevalue("cloud")
        return dynamodb_publication_store(LazyClients(), LEDGER_TABLE)
    return MemoryPublicationStore()


def records(store, invocation: Invocation | None = None, ttl_days: int = 30) -> PublicationRecords:
    return PublicationRecords(store, ttl_days=ttl_days, lambda_context=invocation or Invocation())


def crash_while_publishing(store, invocation: Invocation) -> None:
    with pytest.raises(InvocationKilled):
        publish_once([digest(CRITICAL)], Publisher(InvocationKilled()), records(store, invocation), "crashed")


def expirations(store) -> list[int]:
    if isinstance(store, MemoryPublicationStore):
        return [record.expiry_timestamp for record in store.records.values()]
    items = boto3.client("dynamodb").scan(TableName=LEDGER_TABLE)["Items"]
    return [int(item["expiration"]["N"]) for item in items]


def pass_the_ttl(store) -> None:
    """Every record's expiration in the past, as DynamoDB leaves an expired item until it deletes it."""
    past = int(time.time()) - 1
    if isinstance(store, MemoryPublicationStore):
        for record in store.records.values():
            record.expiry_timestamp = past
        return
    dynamodb = boto3.client("dynamodb")
    for item in dynamodb.scan(TableName=LEDGER_TABLE)["Items"]:
        dynamodb.update_item(
            TableName=LEDGER_TABLE,
            Key={"id": item["id"]},
            UpdateExpression="SET expiration = :past",
            ExpressionAttributeValues={":past": {"N": str(past)}},
        )


def test_a_published_digest_is_skipped_as_a_duplicate_by_a_retry_and_a_rerun(store):
    publisher = Publisher()

    first = publish_once([digest(CRITICAL), digest(HIGH)], publisher, records(store), "run-1")
    retry = publish_once([digest(CRITICAL), digest(HIGH)], publisher, records(store), "run-1")
    rerun = publish_once([digest(CRITICAL), digest(HIGH)], publisher, records(store), "manual-rerun")

    assert (first, retry, rerun) == ((2, 0), (0, 2), (0, 2))
    assert publisher.sent == [CRITICAL.id, HIGH.id]


def test_the_saved_response_names_the_digest_its_message_and_the_run_that_sent_it(cloud):
    store = dynamodb_publication_store(LazyClients(), LEDGER_TABLE)

    publish_once([digest(CRITICAL)], Publisher(), records(store), "run-1")

    (item,) = cloud.publication_records().values()
    assert item["status"] == "COMPLETED"
    assert json.loads(item["data"]) == {"digest": CRITICAL.id, "message_id": "message-1", "run_id": "run-1"}


def test_a_failed_publish_releases_its_claim_so_a_retry_publishes_the_digest(store):
    with pytest.raises(ConnectionError, match="SNS unreachable"):
        publish_once(
            [digest(CRITICAL)], Publisher(ConnectionError("SNS unreachable")), records(store), "run-1"
        )

    retry = Publisher()
    assert publish_once([digest(CRITICAL)], retry, records(store), "run-1") == (1, 0)
    assert retry.sent == [CRITICAL.id]


def test_a_claim_in_progress_fails_another_invocation_with_the_error_the_state_machine_retries(store):
    crash_while_publishing(store, Invocation(remaining_ms=60_000))

    with pytest.raises(DigestInProgressError, match=f"digest {CRITICAL.id} is being published") as busy:
        publish_once([digest(CRITICAL)], Publisher(), records(store), "retry")

    assert type(busy.value).__name__ in NOTIFIER_CLAIM_BUSY_ERRORS


def test_a_crashed_claim_is_taken_over_once_its_invocation_is_over(store):
    crash_while_publishing(store, Invocation(remaining_ms=5))
    time.sleep(0.05)

    retry = Publisher()
    assert publish_once([digest(CRITICAL)], retry, records(store), "retry") == (1, 0)
    assert retry.sent == [CRITICAL.id]


def test_without_a_lambda_context_a_crashed_claim_blocks_its_digest_until_the_ttl(store):
    with pytest.raises(InvocationKilled):
        publish_once([digest(CRITICAL)], Publisher(InvocationKilled()), PublicationRecords(store), "local")
    time.sleep(0.05)

    with pytest.raises(DigestInProgressError):
        publish_once([digest(CRITICAL)], Publisher(), PublicationRecords(store), "local-again")
    pass_the_ttl(store)
    assert publish_once([digest(CRITICAL)], Publisher(), PublicationRecords(store), "local-later") == (1, 0)


def test_records_expire_after_the_ttl_and_an_expired_one_no_longer_blocks(store):
    before = int(time.time())
    publish_once([digest(CRITICAL)], Publisher(), records(store, ttl_days=7), "run-1")
    after = int(time.time())

    (expiration,) = expirations(store)
    assert before + 7 * 86_400 <= expiration <= after + 7 * 86_400
    pass_the_ttl(store)
    later = Publisher()
    assert publish_once([digest(CRITICAL)], later, records(store, ttl_days=7), "next-month") == (1, 0)
    assert later.sent == [CRITICAL.id]


def test_the_stacks_table_has_the_attribute_names_powertools_writes():
    parameters = inspect.signature(DynamoDBPersistenceLayer).parameters

    assert parameters["key_attr"].default == IDEMPOTENCY_KEY
    assert parameters["expiry_attr"].default == IDEMPOTENCY_TTL_ATTRIBUTE


def test_a_digest_key_is_the_whole_idempotency_key():
    """Two digests of one as-of and tier, national and per state, never share a record."""
    store = MemoryPublicationStore()
    texas = DigestKey(AS_OF, "critical", "state", "TX")
    next_day = DigestKey(AS_OF + dt.timedelta(days=1), "critical", "all")
    digests = [digest(CRITICAL), digest(texas), digest(next_day)]

    published = publish_once(digests, Publisher(), records(store), "run-1")

    assert published == (3, 0)
    assert len(store.records) == 3
