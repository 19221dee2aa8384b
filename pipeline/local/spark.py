"""The one local SparkSession of a run, configured like a small Glue worker."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import UsageError

_LOG4J2_CONFIG = Path(__file__).with_name("log4j2.properties")
LOG = logging.getLogger(__name__)


def require_java() -> None:
    """PySpark 3.5 needs a JVM; say how to get one instead of failing deep inside py4j."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise UsageError(
            "Java 17 is required by PySpark and was not found; install it "
            "(Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless) or set JAVA_HOME"
        )


# Below this much raw input a run is dominated by JVM warm-up, not by data.
SMALL_INPUT_BYTES = 64 * 1024 * 1024
# Unknown -XX options are ignored rather than fatal (a JVM without dynamic class-data sharing just
# runs without it), and class-data sharing says nothing: a stale archive is skipped, not reported.
_QUIET_CLASS_SHARING = "-XX:+IgnoreUnrecognizedVMOptions -Xlog:cds*=off"
# Writing the archive takes the exiting JVM about 15 s on two cores; a recording left by a run that
# was killed before publishing it is removed after this long.
_STALE_RECORDING_SECONDS = 3600
# -XX:ArchiveClassesAtExit arrived in JDK 13; older JVMs (PySpark 3.5 still runs on 8 and 11) get no archive.
DYNAMIC_ARCHIVE_SINCE = 13
_RECORDING_WAIT_SECONDS = 300


@dataclass(frozen=True)
class ClassArchive:
    """A class-data-sharing archive of the classes a local run's JVM loads (JDK 13 and later).

    The first run of an environment records it as its JVM exits; later runs map it instead of
    loading and verifying Spark's classes from the jars again, which takes the bundled sample from
    about 19 s to 14 s. Its name is keyed by the java binary and the installed Spark jars, so a
    new JDK or a reinstalled PySpark records a fresh one; delete the file to record it again.
    """

    path: Path

    @classmethod
    def for_this_environment(cls) -> ClassArchive | None:
        """The archive in PIPELINE_SPARK_CLASS_ARCHIVE_DIR, by default beside the environment's Python
        (the venv); None where it cannot be written or the JVM cannot record it."""
        import pyspark

        java = _java_binary()
        folder = Path(os.environ.get("PIPELINE_SPARK_CLASS_ARCHIVE_DIR") or sys.prefix)
        if java is None or not os.access(folder, os.W_OK):
            return None
        java_path = Path(java).resolve()
        if _java_feature_release(java_path) < DYNAMIC_ARCHIVE_SINCE:
            return None
        jars = Path(pyspark.__file__).parent / "jars"
        identity = (
            f"{java_path}|{java_path.stat().st_mtime_ns}|{pyspark.__version__}|{jars.stat().st_mtime_ns}"
        )
        return cls(folder / f"spark-classes-{hashlib.sha256(identity.encode()).hexdigest()[:12]}.jsa")

    @property
    def recording(self) -> Path:
        return self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")

    def java_options(self) -> str:
        if self.path.exists():
            return f"-XX:SharedArchiveFile={self.path} {_QUIET_CLASS_SHARING}"
        self._remove_stale_recordings()
        return f"-XX:ArchiveClassesAtExit={self.recording} {_QUIET_CLASS_SHARING}"

    def publish(self) -> None:
        """Move this process's finished recording into place (atomically: runs may map it meanwhile).

        Archives of an earlier JDK or PySpark in the same folder are removed: nothing maps them again.
        """
        if not self.recording.exists():
            return
        os.replace(self.recording, self.path)
        for earlier in self.path.parent.glob("spark-classes-*.jsa"):
            if earlier != self.path:
                earlier.unlink(missing_ok=True)

    def discard(self) -> None:
        self.recording.unlink(missing_ok=True)

    def _remove_stale_recordings(self) -> None:
        for stale in self.path.parent.glob("spark-classes-*.tmp"):
            if time.time() - stale.stat().st_mtime > _STALE_RECORDING_SECONDS:
                stale.unlink(missing_ok=True)


def _java_feature_release(java_path: Path) -> int:
    """The JDK's feature release (17 for 17.0.15) from its `release` file; 0 when unknown."""
    release = java_path.parent.parent / "release"
    try:
        text = release.read_text(encoding="utf-8")
    except OSError:
        return 0
    match = re.search(r'^JAVA_VERSION="(?:1\.)?(\d+)', text, re.MULTILINE)
    return int(match[1]) if match else 0


def _java_binary() -> str | None:
    """The java that spark-submit launches: $JAVA_HOME/bin/java, else the one on PATH."""
    if os.environ.get("JAVA_HOME"):
        return shutil.which("java", path=str(Path(os.environ["JAVA_HOME"]) / "bin"))
    return shutil.which("java")


# The archive this process's JVM records as it exits, if it does; stop_spark publishes it.
_recording: ClassArchive | None = None


def start_spark(
    app_name: str = "accreditation-pipeline", shuffle_partitions: int = 4, small_input: bool = False
):
    """Start (or reuse) the local SparkSession; start-up is the floor of a run, so it happens once."""
    global _recording
    require_java()
    from pyspark.sql import SparkSession

    java_options = f"-Dlog4j2.configurationFile=file:{_LOG4J2_CONFIG}"
    if small_input:
        # A run over a few megabytes is over before the JVM's optimising compiler pays for itself;
        # the quick compiler alone takes the bundled sample from about 23 s to 17 s.
        java_options += " -XX:TieredStopAtLevel=1"
    # JVM options apply only when this call starts the JVM, not when it returns the running session.
    archive = ClassArchive.for_this_environment() if SparkSession.getActiveSession() is None else None
    if archive is not None:
        if not archive.path.exists():
            _recording = archive
        java_options += " " + archive.java_options()
    return (
        SparkSession.builder.master(os.environ.get("PIPELINE_SPARK_MASTER", "local[2]"))
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", os.environ.get("PIPELINE_SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.driver.extraJavaOptions", java_options)
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        # Loopback only: no host-name lookup at start-up, nothing listening on outside interfaces.
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        # Adaptive execution runs every shuffle stage as a job of its own; on local inputs with few
        # shuffle partitions it has nothing to re-plan, so it would only add jobs (16 instead of 5).
        .config("spark.sql.adaptive.enabled", "false")
        .getOrCreate()
    )


def stop_spark(spark) -> None:
    """End a run's Spark. Only a JVM that records the class archive is stopped and waited for here
    (every other one exits with the process, as before), so the archive is complete when published."""
    global _recording
    if _recording is None:
        return
    from pyspark import SparkContext

    archive, _recording = _recording, None
    gateway = SparkContext._gateway
    process = getattr(gateway, "proc", None)
    spark.stop()
    if gateway is None or process is None:
        return
    print(
        "first run in this environment: saving Spark's classes for faster start-ups (once, about 20 s)",
        file=sys.stderr,
        flush=True,
    )
    gateway.shutdown()
    # PySpark's gateway JVM exits when its stdin closes; it writes the archive on the way out.
    process.stdin.close()
    SparkContext._gateway = None
    SparkContext._jvm = None
    try:
        process.wait(timeout=_RECORDING_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        LOG.warning("the JVM did not finish writing %s; the next run records it again", archive.recording)
        return
    if process.returncode == 0:
        archive.publish()
    else:  # a JVM that failed on its way out may have left a partial archive
        archive.discard()
