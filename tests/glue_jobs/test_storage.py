"""Storage adapters: the adapter picked by scheme, and S3 listing and documents under moto."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from glue_jobs.curation import snapshots
from glue_jobs.curation.options import CurationError
from glue_jobs.curation.storage import LocalStorage, S3Storage, storage_for


def test_storage_for_picks_the_adapter_by_scheme():
    assert isinstance(storage_for("s3://bucket/"), S3Storage)
    assert isinstance(storage_for("/tmp/out/curated/"), LocalStorage)
    with pytest.raises(CurationError, match="unsupported location scheme"):
        storage_for("gs://bucket/")


@mock_aws
def test_s3_storage_lists_with_last_modified_and_round_trips_documents():
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="raw")
    client.put_object(Bucket="raw", Key="in/a.ndjson", Body=b"{}\n")
    client.put_object(Bucket="raw", Key="in/b.ndjson.gz", Body=b"x")
    storage = S3Storage(client)

    listed = storage.list_objects("s3://raw/in/")
    head = client.head_object(Bucket="raw", Key="in/a.ndjson")
    assert [o.uri for o in listed] == ["s3://raw/in/a.ndjson", "s3://raw/in/b.ndjson.gz"]
    assert listed[0].arrival == head["LastModified"].timestamp() and listed[0].size == 3

    report_uri = snapshots.report_uri("s3://raw/", "2026-12-01")
    assert report_uri == "s3://raw/_reports/snapshot_date=2026-12-01/curation_report.json"
    assert storage.read_text(report_uri) is None
    storage.write_text(report_uri, json.dumps({"curated": 3}))
    assert json.loads(storage.read_text(report_uri)) == {"curated": 3}
    assert storage.delete_prefix("s3://raw/in/") == 2
    assert [o.uri for o in storage.list_objects("s3://raw/")] == [report_uri]
