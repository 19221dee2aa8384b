"""The local runner's class-data-sharing archive: where it lives, what it is keyed by, when it is used."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from pipeline.local import spark as local_spark
from pipeline.local.spark import ClassArchive


def _fake_jdk(root: Path, version: str) -> Path:
    (root / "bin").mkdir(parents=True)
    java = root / "bin" / "java"
    java.write_text("#!/bin/sh\n", encoding="utf-8")
    java.chmod(0o755)
    (root / "release").write_text(f'IMPLEMENTOR="Test"\nJAVA_VERSION="{version}"\n', encoding="utf-8")
    return root


@pytest.fixture
def environment(tmp_path, monkeypatch):
    """A writable environment prefix and a JDK 17 found through JAVA_HOME."""
    prefix = tmp_path / "venv"
    prefix.mkdir()
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.setenv("JAVA_HOME", str(_fake_jdk(tmp_path / "jdk17", "17.0.15")))
    return prefix


def test_the_archive_lives_in_the_environment_and_is_keyed_by_the_jdk(environment, tmp_path, monkeypatch):
    first = ClassArchive.for_this_environment()
    assert first is not None
    assert first.path.parent == environment
    assert first.path.name.startswith("spark-classes-") and first.path.suffix == ".jsa"
    assert ClassArchive.for_this_environment() == first

    monkeypatch.setenv("JAVA_HOME", str(_fake_jdk(tmp_path / "jdk21", "21.0.2")))
    assert ClassArchive.for_this_environment().path != first.path


@pytest.mark.parametrize("version", ["1.8.0_392", "11.0.22"])
def test_jvms_without_dynamic_archives_get_none(environment, tmp_path, monkeypatch, version):
    monkeypatch.setenv("JAVA_HOME", str(_fake_jdk(tmp_path / "old-jdk", version)))
    assert ClassArchive.for_this_environment() is None


def test_an_unknown_jdk_version_gets_none(environment, tmp_path, monkeypatch):
    jdk = _fake_jdk(tmp_path / "odd-jdk", "17")
    (jdk / "release").unlink()
    monkeypatch.setenv("JAVA_HOME", str(jdk))
    assert ClassArchive.for_this_environment() is None


def test_an_environment_that_cannot_be_written_gets_none(environment, monkeypatch):
    # (A chmod would not do: the tests may run as root, who writes anyway.)
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != environment)
    assert ClassArchive.for_this_environment() is None


def test_the_first_run_records_and_later_runs_map_the_archive(environment):
    archive = ClassArchive.for_this_environment()
    recording = archive.java_options()
    assert f"-XX:ArchiveClassesAtExit={archive.recording}" in recording
    assert "-XX:+IgnoreUnrecognizedVMOptions" in recording

    archive.recording.write_bytes(b"archive")  # what the exiting JVM writes
    archive.publish()
    assert archive.path.read_bytes() == b"archive"
    assert not archive.recording.exists()
    assert f"-XX:SharedArchiveFile={archive.path}" in archive.java_options()


def test_publishing_removes_the_archives_of_an_earlier_jdk_or_pyspark(environment):
    archive = ClassArchive.for_this_environment()
    earlier = environment / "spark-classes-0123456789ab.jsa"
    earlier.write_bytes(b"old")
    archive.recording.write_bytes(b"new")
    archive.publish()
    assert sorted(environment.iterdir()) == [archive.path]


def test_a_discarded_recording_is_gone_and_nothing_is_published(environment):
    archive = ClassArchive.for_this_environment()
    archive.recording.write_bytes(b"partial")
    archive.discard()
    assert list(environment.iterdir()) == []


def test_publishing_without_a_finished_recording_changes_nothing(environment):
    archive = ClassArchive.for_this_environment()
    archive.publish()
    assert not archive.path.exists()


def test_recordings_left_by_killed_runs_are_removed_once_stale(environment):
    archive = ClassArchive.for_this_environment()
    stale = environment / "spark-classes-0123456789ab.jsa.999.tmp"
    fresh = environment / "spark-classes-0123456789ab.jsa.998.tmp"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"being written")
    old = time.time() - 2 * local_spark._STALE_RECORDING_SECONDS
    os.utime(stale, (old, old))
    archive.java_options()
    assert not stale.exists()
    assert fresh.exists()


def test_stopping_a_run_that_records_nothing_leaves_spark_to_the_process_exit(monkeypatch):
    monkeypatch.setattr(local_spark, "_recording", None)

    class Session:
        stopped = False

        def stop(self) -> None:
            self.stopped = True

    session = Session()
    local_spark.stop_spark(session)
    assert not session.stopped
