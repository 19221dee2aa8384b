"""Fixtures of the IAM simulation: the stack under mocks, the calls its code made, one simulator run."""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from iam_glue_job import record_job_runs
from iam_recording import PLUGIN_NAME, SOURCES, CodeRecording, RecordedCall, record_tests
from iam_requests import Stack
from program_mocks import ACCOUNT_ID, REGION
from pyspark.sql import SparkSession

# What the simulation evaluated, for the closing summary of the run.
SUMMARY = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    # Recording starts before any test runs; these tests move after the notifier's, whose calls they read.
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(CodeRecording(run_last=Path(__file__).parent), PLUGIN_NAME)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if SUMMARY in config.stash:
        terminalreporter.write_line(config.stash[SUMMARY])


@pytest.fixture(scope="session")
def simulation_summary(request: pytest.FixtureRequest):
    """Call with the line to print at the end of the run."""

    def record(line: str) -> None:
        request.config.stash[SUMMARY] = line

    return record


@pytest.fixture(scope="session")
def stack(deployment) -> Stack:
    return Stack.from_deployment(deployment, ACCOUNT_ID, REGION)


@pytest.fixture(scope="session")
def recorded_calls(request: pytest.FixtureRequest, tmp_path_factory) -> Callable[[str], list[RecordedCall]]:
    """What a Source's code called while its tests ran: in this session, or in a child run of them."""
    recording = request.config.pluginmanager.get_plugin(PLUGIN_NAME)

    @functools.cache
    def calls_of(name: str) -> list[RecordedCall]:
        (source,) = [source for source in SOURCES if source.name == name]
        if recording.complete(source):
            return recording.calls(source)
        return record_tests(source, tmp_path_factory.mktemp(f"{name}-recording"))

    return calls_of


@pytest.fixture(scope="session")
def notifier_calls(recorded_calls) -> list[RecordedCall]:
    return recorded_calls("notifier")


@pytest.fixture(scope="session")
def notifier_testkit():
    """The notifier tests' names for their moto resources (their module, imported once per session)."""
    if "notifier_testkit" not in sys.modules:
        (notifier,) = [source for source in SOURCES if source.name == "notifier"]
        spec = importlib.util.spec_from_file_location(
            "notifier_testkit", notifier.tests / "notifier_testkit.py"
        )
        module = importlib.util.module_from_spec(spec)
        # Registered before it runs: its dataclasses look their module up by name.
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return sys.modules["notifier_testkit"]


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
