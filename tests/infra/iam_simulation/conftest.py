"""Fixtures of the IAM simulation: the stack under mocks, the calls its code made, one simulator run."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from iam_glue_job import record_job_runs
from iam_recording import NOTIFIER_TESTS, PLUGIN_NAME, NotifierRecording, RecordedCall, record_notifier_tests
from iam_requests import Stack
from program_mocks import ACCOUNT_ID, REGION
from pyspark.sql import SparkSession


def pytest_configure(config: pytest.Config) -> None:
    # Recording starts before any test runs; these tests move after the notifier's, whose calls they read.
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(NotifierRecording(run_last=Path(__file__).parent), PLUGIN_NAME)


@pytest.fixture(scope="session")
def stack(deployment) -> Stack:
    return Stack.from_deployment(deployment, ACCOUNT_ID, REGION)


@pytest.fixture(scope="session")
def notifier_calls(request: pytest.FixtureRequest, tmp_path_factory) -> list[RecordedCall]:
    """What the notifier called while tests/lambda_ ran: in this session, or in a child run of them."""
    recording = request.config.pluginmanager.get_plugin(PLUGIN_NAME)
    if recording.complete():
        return recording.notifier_calls()
    return record_notifier_tests(tmp_path_factory.mktemp("notifier-recording"))


@pytest.fixture(scope="session")
def notifier_testkit():
    spec = importlib.util.spec_from_file_location("notifier_testkit", NOTIFIER_TESTS / "notifier_testkit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def spark_session() -> Iterator[SparkSession]:
    """The Glue tests' session when it is still up, else one of the same shape for this module."""
    active = SparkSession.getActiveSession()
    session = active or (
        SparkSession.builder.master("local[2]")
        .appName("iam-simulation")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    if active is None:
        session.stop()


@pytest.fixture(scope="session")
def job_recording(spark_session, stack, tmp_path_factory):
    buckets = {zone: stack.bucket(zone) for zone in ("raw", "curated", "quarantine")}
    database = stack.outputs["glue_database"]
    return record_job_runs(spark_session, tmp_path_factory.mktemp("glue-job-runs"), buckets, database)
