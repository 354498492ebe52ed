"""The Spark session Handoff's jobs run in, and what Spark needs of this machine.

Requires the `spark` extra (`pip install 'handoff[spark]'`, pyspark 4) and Java 17; pyspark
is imported only inside these functions, so the default install never needs it.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyspark.sql

DEFAULT_MASTER = "local[2]"
# What a local driver may collect from its executors (the gathered training table).
DRIVER_MAX_RESULT = "3g"
# pyspark 4 warns on every conversion that it "does not yet fully support pandas >= 3";
# Handoff uses only Arrow-based pandas UDFs (never pandas-on-Spark), whose conversions the
# parity tests check under pandas 3, so these exact messages are silenced, nothing else.
QUIET_WARNINGS: tuple[str, ...] = (
    "ignore:PySpark does not yet fully support pandas:FutureWarning",
    "ignore:The copy keyword is deprecated",
)


class SparkUnavailable(RuntimeError):
    """Spark cannot run here: pyspark is not installed, or no Java was found."""


def _quiet() -> None:
    for spec in QUIET_WARNINGS:
        action, message, *rest = spec.split(":")
        category = FutureWarning if rest and rest[0] == "FutureWarning" else Warning
        warnings.filterwarnings(action, message=message, category=category)  # type: ignore[arg-type]


def java_available() -> bool:
    """Whether a Java runtime is on this machine (pyspark starts one)."""
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and Path(home, "bin", "java").exists()))


def active_session() -> pyspark.sql.SparkSession | None:
    """The session already running in this process (a notebook's, a test run's), if any:
    a command joins it rather than starting, and later stopping, its own."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    return SparkSession.getActiveSession()


def spark_session(
    master: str | None = DEFAULT_MASTER,
    *,
    app_name: str = "handoff",
    conf: Mapping[str, str] | None = None,
) -> pyspark.sql.SparkSession:
    """A Spark session for Handoff's jobs (UTC session time zone, Arrow on, quiet).

    `master` None leaves it to `spark-submit`; a `local[...]` master also pins the
    executors' Python to this interpreter and keeps the driver on the loopback address.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as missing:
        raise SparkUnavailable(
            "the Spark engine needs the spark extra: pip install 'handoff[spark]'"
        ) from missing
    if not java_available():
        raise SparkUnavailable("the Spark engine needs Java 17 (java on PATH or JAVA_HOME)")
    _quiet()
    builder = SparkSession.builder.appName(app_name)
    settings: dict[str, str] = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.executorEnv.PYTHONWARNINGS": ",".join(QUIET_WARNINGS),
        # Times are written as Parquet microseconds (UTC), as pandas writes them, not INT96.
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    }
    if master is not None:
        builder = builder.master(master)
        if master.startswith("local"):
            # Local executors are this machine's Python: this interpreter, with Handoff.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            settings.update(
                {
                    "spark.driver.host": "127.0.0.1",
                    "spark.driver.bindAddress": "127.0.0.1",
                    "spark.ui.enabled": "false",
                    "spark.ui.showConsoleProgress": "false",
                    "spark.sql.shuffle.partitions": "8",
                    "spark.driver.memory": "4g",
                    # `train --engine spark` gathers the labelled feature table (up to
                    # `training.spark_train.MAX_TRAIN_ROWS` rows) on the driver, more than
                    # Spark's 1g default at millions of leads.
                    "spark.driver.maxResultSize": DRIVER_MAX_RESULT,
                }
            )
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
