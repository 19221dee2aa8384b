"""The one local SparkSession of a run, configured like a small Glue worker."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipeline.errors import UsageError

_LOG4J2_CONFIG = Path(__file__).with_name("log4j2.properties")


def require_java() -> None:
    """PySpark 3.5 needs a JVM; say how to get one instead of failing deep inside py4j."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise UsageError(
            "Java 17 is required by PySpark and was not found; install it "
            "(Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless) or set JAVA_HOME"
        )


# Below this much raw input a run is dominated by JVM warm-up, not by data.
SMALL_INPUT_BYTES = 64 * 1024 * 1024


def start_spark(
    app_name: str = "accreditation-pipeline", shuffle_partitions: int = 4, small_input: bool = False
):
    """Start (or reuse) the local SparkSession; start-up is the floor of a run, so it happens once."""
    require_java()
    from pyspark.sql import SparkSession

    java_options = f"-Dlog4j2.configurationFile=file:{_LOG4J2_CONFIG}"
    if small_input:
        # A run over a few megabytes is over before the JVM's optimising compiler pays for itself;
        # the quick compiler alone takes the bundled sample from about 23 s to 17 s.
        java_options += " -XX:TieredStopAtLevel=1"
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
