"""Each digest published once per idempotency window, through Powertools' Idempotency utility.

One idempotency record per digest, keyed on the digest's key id alone (the payload
`{"digest": "2026-12-01#critical#all"}`, of which `event_key_jmespath` selects the id), never on its text:
a retry or a manual rerun of an as-of is the same digest even when its run_id attribute differs. What
the utility does with that record:

- claim: an IN_PROGRESS record, written only if none exists, if the existing one is past its TTL, or if
  it is IN_PROGRESS past its in-progress expiry (a crashed invocation's). That expiry is the invocation's
  remaining time, so it is set only when a Lambda context is registered; without one (the local twin) an
  IN_PROGRESS record blocks its digest until the TTL.
- completion: the record becomes COMPLETED with the function's response (digest, SNS message id, run id).
- release: the record is deleted when publishing raises, so a retry publishes exactly what is missing. A
  process that dies mid-publish (a Lambda timeout) deletes nothing: its claim lapses with the invocation.
- TTL: every record expires `ttl_days` after it was written (the table's TTL attribute).

A COMPLETED record is replayed: Powertools returns the saved response instead of publishing. It calls
`response_hook` only for such stored responses, so the hook marks them and `publish_once` counts them as
duplicates. A busy claim raises Powertools' IdempotencyAlreadyInProgressError; it is re-raised as
DigestInProgressError naming the digest, the error name the state machine retries. Who holds a busy claim
cannot be told: Powertools keeps no data on an IN_PROGRESS record.

Powertools stores `<key_prefix>#<md5 of the key>` as the record id. The prefix is fixed here: its default
is the function's name and module path, and a record must outlive a renamed function or module.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.typing import LambdaContext

from accreditation_notifier.model import Digest, DigestInProgressError, DigestPublisher

logger = Logger(child=True)

DEFAULT_TTL_DAYS = 30
KEY_PREFIX = "accreditation-digest"
KEY_FIELD = "digest"
# Set on a saved response that Powertools replayed instead of publishing.
REPLAYED = "replayed"
_NO_REMAINING_TIME = "Couldn't determine the remaining time left"


@dataclass(frozen=True)
class PublicationRecords:
    """Where publications are recorded, for how long, and the invocation whose remaining time bounds
    a claim."""

    store: BasePersistenceLayer
    ttl_days: int = DEFAULT_TTL_DAYS
    lambda_context: LambdaContext | None = None

    def config(self) -> IdempotencyConfig:
        config = IdempotencyConfig(
            event_key_jmespath=KEY_FIELD,
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self.ttl_days * 86_400,
            response_hook=_mark_replayed,
        )
        if self.lambda_context is not None:
            config.register_lambda_context(self.lambda_context)
        return config


def _mark_replayed(response: dict[str, Any] | None, _record: object) -> dict[str, Any]:
    return {**(response or {}), REPLAYED: True}


def _publish_digest(
    *, claim: dict[str, str], digest: Digest, publisher: DigestPublisher, run_id: str
) -> dict[str, str]:
    """The idempotent step: its response is what a replay returns."""
    log_keys = {"digest": digest.key.id, "listed": digest.listed, "omitted": digest.omitted}
    try:
        message_id = publisher.publish(digest)
    except Exception:
        logger.exception({"message": "publishing a digest failed", **log_keys})
        raise
    logger.info({"message": "digest published", "message_id": message_id, **log_keys})
    return {KEY_FIELD: claim[KEY_FIELD], "message_id": message_id, "run_id": run_id}


def publish_once(
    digests: list[Digest], publisher: DigestPublisher, records: PublicationRecords, run_id: str
) -> tuple[int, int]:
    """Publish every digest not published yet; returns (published, skipped as duplicates)."""
    publish = idempotent_function(
        _publish_digest,
        data_keyword_argument="claim",
        persistence_store=records.store,
        config=records.config(),
        key_prefix=KEY_PREFIX,
    )
    published = skipped = 0
    for digest in digests:
        try:
            with _without_remaining_time_warning(records):
                outcome = publish(
                    claim={KEY_FIELD: digest.key.id}, digest=digest, publisher=publisher, run_id=run_id
                )
        except IdempotencyAlreadyInProgressError as busy:
            raise DigestInProgressError(
                f"digest {digest.key.id} is being published by another invocation; retry"
            ) from busy
        if outcome.get(REPLAYED):
            skipped += 1
            logger.info(
                {
                    "message": "digest already published, skipped",
                    "digest": digest.key.id,
                    "message_id": outcome.get("message_id"),
                    "published_by_run": outcome.get("run_id"),
                }
            )
        else:
            published += 1
    return published, skipped


@contextmanager
def _without_remaining_time_warning(records: PublicationRecords) -> Iterator[None]:
    """Without a Lambda context (the local twin) claims have no in-progress expiry by design: Powertools'
    warning about it would repeat for every digest."""
    if records.lambda_context is not None:
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_NO_REMAINING_TIME)
        yield
