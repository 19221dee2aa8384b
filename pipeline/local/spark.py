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


def start_spark(app_name: str = "accreditation-pipeline", shuffle_partitions: int = 4):
    """Start (or reuse) the local SparkSession; start-up is the floor of a run, so it happens once."""
    require_java()
    from pyspark.sql import SparkSession

    java_options = f"-Dlog4j2.configurationFile=file:{_LOG4J2_CONFIG}"
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
