"""The local twin's idempotency records: Powertools' persistence layer over a dict of one run.

In memory on purpose. A local run has no Lambda context, so Powertools gives an IN_PROGRESS record no
in-progress expiry: in a file, the record of a digest whose run was killed mid-publish would block that
digest until its TTL. In memory, a killed run takes its records with it and the rerun publishes every
digest again; the outbox file of a digest is named after its key, so the rerun overwrites what the killed
run wrote and nothing is lost or doubled. Within one run every digest is published at most once, as in
the cloud.

The put condition is DynamoDBPersistenceLayer's: a record may be replaced once it is past its TTL, or when
it is IN_PROGRESS with an in-progress expiry that has passed.
"""

from __future__ import annotations

import datetime as dt

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import (
    STATUS_CONSTANTS,
    DataRecord,
)


class MemoryPublicationStore(BasePersistenceLayer):
    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, DataRecord] = {}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        try:
            return self.records[idempotency_key]
        except KeyError:
            raise IdempotencyItemNotFoundError(idempotency_key) from None

    def _put_record(self, data_record: DataRecord) -> None:
        existing = self.records.get(data_record.idempotency_key)
        if existing is not None and not _replaceable(existing):
            raise IdempotencyItemAlreadyExistsError(old_data_record=existing)
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self.records.pop(data_record.idempotency_key, None)


def _replaceable(record: DataRecord) -> bool:
    if record.is_expired:
        return True
    deadline = record.in_progress_expiry_timestamp
    now_ms = int(dt.datetime.now().timestamp() * 1000)
    return record.status == STATUS_CONSTANTS["INPROGRESS"] and deadline is not None and deadline < now_ms
