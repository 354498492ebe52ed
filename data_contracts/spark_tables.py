"""CRM tables on Apache Spark: the session, reading, partitioning by lead, and the contracts.

Nothing here reimplements a rule. Every row of a lead, in every table, is sent to the same
partition (`BUCKET`, a hash of `lead_id`); a pandas UDF then runs the single-machine
contracts on it (`partition.validate_partition`), and the later stages run the same
features and champion in the same UDF, so the data crosses the cluster once. Table-level
findings (a missing column, an empty file) are judged once on the driver with the same
code (`validate.table_failures`).

Requires the `spark` extra (`pip install 'handoff[spark]'`, pyspark 4) and Java 17; pyspark
is imported only inside these functions, so the default install never needs it.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from data_contracts.crm_data import (
    CSV_MISSING,
    TABLES,
    TIME_COLUMNS,
    CrmData,
    NotACrmFolder,
    data_end_of,
    empty_table,
    latest_time,
    locate_table,
    read_manifest,
)
from data_contracts.cross_table import FAILURE_COLUMNS
from data_contracts.partition import (
    SOURCE_COLUMNS,
    SOURCE_FILE,
    SOURCE_ROW,
    PartitionResult,
    validate_partition,
)
from data_contracts.schemas import SCHEMAS
from data_contracts.validate import ValidationResult, table_failures

if TYPE_CHECKING:
    import pyarrow as pa
    import pyspark.sql

DEFAULT_MASTER = "local[2]"
BUCKET = "_bucket"
TABLE = "_table"
KIND = "_kind"
PAYLOAD = "payload"
# Leads per UDF call: a partition's leads, events and answers sit in one Python worker.
LEADS_PER_BUCKET = 20_000
# The record columns every partition UDF returns beside its payload (failures, held rows
# and counts), so one pass yields the answers and what the contracts found.
RECORD_COLUMNS: tuple[str, ...] = (
    KIND,
    "table",
    *FAILURE_COLUMNS,
    "reasons",
    "rows",
    "valid",
)
RECORD_SCHEMA = (
    f"{KIND} string, table string, file string, row long, column string, check string, "
    "value string, reasons string, rows long, valid long"
)
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
                }
            )
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


@dataclass
class SparkCrm:
    """The three tables as Spark frames, each row carrying `SOURCE_COLUMNS`, plus what a
    partition cannot know: `template` holds the metadata (mapped columns, extraction time,
    source, files) with empty tables."""

    leads: pyspark.sql.DataFrame
    events: pyspark.sql.DataFrame | None
    outcomes: pyspark.sql.DataFrame | None
    template: CrmData
    single_file: dict[str, bool] = field(default_factory=dict)
    staging: tempfile.TemporaryDirectory[str] | None = None
    mapped: CrmData | None = None  # a mapped export, as mapped on the driver
    _sizes: dict[str, int] = field(default_factory=dict)

    def table(self, name: str) -> pyspark.sql.DataFrame | None:
        return {"leads": self.leads, "events": self.events, "outcomes": self.outcomes}[name]

    def sizes(self) -> dict[str, int]:
        """Rows per table (counted once: Parquet answers from its footers)."""
        if not self._sizes:
            self._sizes = {
                name: 0 if (frame := self.table(name)) is None else int(frame.count())
                for name in TABLES
            }
        return self._sizes

    def close(self) -> None:
        if self.staging is not None:
            self.staging.cleanup()


def _with_source(frame: pyspark.sql.DataFrame, label: str | None) -> pyspark.sql.DataFrame:
    """Parquet rows with their file and 0-based row in it (Spark's hidden `_metadata`)."""
    from pyspark.sql import functions as F

    name = F.col("_metadata.file_name")
    file = name if label is None else F.concat(F.lit(f"{label}/"), name)
    return frame.select(
        "*", file.alias(SOURCE_FILE), F.col("_metadata.row_index").alias(SOURCE_ROW)
    )


def _read_csv(spark: pyspark.sql.SparkSession, path: Path) -> pyspark.sql.DataFrame:
    """A CSV table as text, missing cells as `CSV_MISSING` says, numbered in file order."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StructField, StructType

    raw = spark.read.csv(str(path), header=True, inferSchema=False)
    cols = [
        F.when(F.col(f"`{c}`").isin(list(CSV_MISSING)), None).otherwise(F.col(f"`{c}`")).alias(c)
        for c in raw.columns
    ]
    text = raw.select(*cols)
    schema = StructType([*text.schema.fields, StructField(SOURCE_ROW, LongType(), False)])
    numbered = text.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1])).toDF(schema)
    return numbered.withColumn(SOURCE_FILE, F.lit(path.name))


def _staged(
    spark: pyspark.sql.SparkSession, crm: CrmData, folder: Path
) -> dict[str, pyspark.sql.DataFrame]:
    """In-memory tables (a mapped export) as Parquet Spark reads, rows numbered as the
    single-machine validation numbers them."""
    frames = {}
    for name in TABLES:
        frame = crm.table(name).reset_index(drop=True)
        if frame.empty and not len(frame.columns):
            continue
        path = folder / f"{name}.parquet"
        numbered = frame.copy(deep=False)
        numbered[SOURCE_FILE] = crm.files.get(name, name)
        numbered[SOURCE_ROW] = np.arange(len(frame), dtype=np.int64)
        numbered.to_parquet(path, index=False)
        frames[name] = spark.read.parquet(str(path))
    return frames


def read_spark_crm(
    spark: pyspark.sql.SparkSession,
    data_dir: Path,
    mapping: Path | None = None,
    *,
    staging_dir: Path | None = None,
) -> SparkCrm:
    """The CRM folder as Spark frames: Parquet files (or folders of part files) and CSV
    files read by Spark itself; an export with a mapping is mapped on the driver by
    `mapping.read_crm` (the one mapping code) and staged as Parquet for Spark to read."""
    data_dir = Path(data_dir)
    if mapping is not None:
        from data_contracts.mapping import read_crm

        crm = read_crm(data_dir, mapping)
        staging = tempfile.TemporaryDirectory(prefix="handoff-staged-", dir=staging_dir)
        frames = _staged(spark, crm, Path(staging.name))
        template = replace(
            crm,
            leads=crm.leads.iloc[:0],
            events=crm.events.iloc[:0],
            outcomes=crm.outcomes.iloc[:0],
            extracted_at=crm.data_end,
        )
        return SparkCrm(
            leads=frames["leads"],
            events=frames.get("events"),
            outcomes=frames.get("outcomes"),
            template=template,
            single_file={name: True for name in TABLES},
            staging=staging,
            mapped=crm,
        )
    frames = {}
    files: dict[str, str] = {}
    single: dict[str, bool] = {}
    for name in TABLES:
        path = locate_table(data_dir, name)
        if path is None:
            continue
        files[name] = path.name
        single[name] = path.is_file()
        if path.suffix == ".csv":
            frames[name] = _read_csv(spark, path)
        else:
            frames[name] = _with_source(
                spark.read.parquet(str(path)), None if path.is_file() else path.name
            )
    if "leads" not in frames:
        raise NotACrmFolder(data_dir)
    extracted = read_manifest(data_dir).get("extracted_at")
    template = CrmData(
        leads=empty_table("leads"),
        events=empty_table("events"),
        outcomes=empty_table("outcomes"),
        source=f"folder:{data_dir}",
        extracted_at=pd.Timestamp(extracted) if extracted else None,
        files=files,
    )
    return SparkCrm(
        leads=frames["leads"],
        events=frames.get("events"),
        outcomes=frames.get("outcomes"),
        template=template,
        single_file=single,
    )


def _latest_per_partition(
    column: str,
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    def latest(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        stamps = [latest_time(batch[column]) for batch in batches if len(batch)]
        known = [s for s in stamps if not pd.isna(s)]
        yield pd.DataFrame({"latest": [max(known).value // 1000 if known else None]})

    return latest


def data_end(crm: SparkCrm) -> pd.Timestamp:
    """When the data ends: the manifest's extraction time, else the latest time in any
    table, read per partition by the same function the single-machine path uses."""
    if crm.template.extracted_at is not None:
        return pd.Timestamp(crm.template.extracted_at)
    stamps = []
    for name in TABLES:
        frame = crm.table(name)
        column = TIME_COLUMNS[name]
        if frame is None or column not in frame.columns:
            continue
        found = (
            frame.select(column)
            .mapInPandas(_latest_per_partition(column), "latest long")
            .agg({"latest": "max"})
            .collect()[0][0]
        )
        if found is not None:
            stamps.append(pd.Timestamp(int(found), unit="us", tz="UTC"))
    return data_end_of(stamps)


def with_data_end(crm: SparkCrm) -> SparkCrm:
    """`crm` with its data end fixed in the template, so every partition judges alike."""
    crm.template = replace(crm.template, extracted_at=data_end(crm))
    return crm


def n_buckets(spark: pyspark.sql.SparkSession, n_leads: int) -> int:
    """Enough partitions to keep every core busy, and each one's leads few enough for one
    Python worker."""
    return max(spark.sparkContext.defaultParallelism, math.ceil(n_leads / LEADS_PER_BUCKET))


def _bucketed(frame: pyspark.sql.DataFrame, table: str, buckets: int) -> pyspark.sql.DataFrame:
    """`frame` with `BUCKET` from its lead_id and its columns renamed `<table>__<column>`
    (so tables can share one Arrow batch without name or type clashes)."""
    from pyspark.sql import functions as F

    key = (
        F.coalesce(F.col("lead_id").cast("string"), F.lit(""))
        if "lead_id" in frame.columns
        else F.lit("")
    )
    kept = [
        F.col(f"`{c}`").alias(c if c in SOURCE_COLUMNS else f"{table}__{c}") for c in frame.columns
    ]
    return frame.select(
        F.pmod(F.xxhash64(key), F.lit(buckets)).alias(BUCKET), F.lit(table).alias(TABLE), *kept
    )


def bucketed_union(
    crm: SparkCrm, tables: tuple[str, ...], buckets: int
) -> pyspark.sql.DataFrame | None:
    """The named tables (those present) in one frame, each row tagged with its table."""
    parts = [
        _bucketed(frame, name, buckets) for name in tables if (frame := crm.table(name)) is not None
    ]
    if not parts:
        return None
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part, allowMissingColumns=True)
    return union


def split_union(batch: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The tables of one bucket back under their own column names (`bucketed_union` undone)."""
    out: dict[str, pd.DataFrame] = {}
    if not len(batch):
        return out
    for name, rows in batch.groupby(TABLE, sort=False):
        prefix = f"{name}__"
        mine = [c for c in rows.columns if c.startswith(prefix)]
        frame = rows[[*mine, *SOURCE_COLUMNS]]
        frame.columns = [c.removeprefix(prefix) for c in frame.columns]
        out[str(name)] = frame.reset_index(drop=True)
    return out


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """An Arrow table from Spark as pandas, times as `datetime64[us, UTC]`."""
    frame = table.to_pandas()
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            frame[col] = s.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
        elif pd.api.types.is_datetime64_dtype(s.dtype):
            frame[col] = s.dt.tz_localize("UTC").astype("datetime64[us, UTC]")
    return frame


def in_utc(frame: pd.DataFrame) -> pd.DataFrame:
    """A UDF's input with Spark's naive (session time zone UTC) times made UTC-aware."""
    for col in frame.columns:
        if pd.api.types.is_datetime64_dtype(frame[col].dtype):
            frame[col] = frame[col].dt.tz_localize("UTC").astype("datetime64[us, UTC]")
    return frame


def spark_type(dtype: Any) -> str:
    """The Spark SQL type of a pandas/pandera column type."""
    text = str(dtype).lower()
    if "datetime" in text:
        return "timestamp"
    if text.startswith(("int", "uint")):
        return "bigint"
    if text.startswith("float"):
        return "double"
    if text in ("bool", "boolean"):
        return "boolean"
    return "string"


def contract_ddl(schema: Any) -> str:
    """A pandera schema's columns as a Spark DDL schema, in contract order."""
    return ", ".join(f"`{name}` {spark_type(col.dtype)}" for name, col in schema.columns.items())


def tagged(payload: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    """A partition's answer: its payload rows (`KIND` "payload") and its contract records,
    in one frame (integers nullable, so record rows can leave them empty)."""
    ints = [c for c in payload.columns if pd.api.types.is_integer_dtype(payload[c].dtype)]
    rows = payload.astype(dict.fromkeys(ints, "Int64")).assign(**{KIND: PAYLOAD})
    return for_spark(pd.concat([rows, found], ignore_index=True))


def for_spark(frame: pd.DataFrame) -> pd.DataFrame:
    """A UDF's answer as pyspark 4 can send it: pandas 3 text columns (Arrow-backed
    `str`, which pyspark's serializer receives as chunked arrays it cannot take) as object."""
    text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype)]
    return frame.astype(dict.fromkeys(text, object)) if text else frame


def records(result: PartitionResult) -> pd.DataFrame:
    """What the contracts found in a partition, as `RECORD_COLUMNS` rows."""
    failures = result.failures.assign(**{KIND: "failure", "table": None})
    held = result.quarantined.rename(
        columns={SOURCE_FILE: "file", SOURCE_ROW: "row", "_failures": "reasons"}
    ).assign(**{KIND: "held"})
    counts = pd.DataFrame(
        [
            {KIND: "count", "table": name, "rows": c["rows"], "valid": c["valid"]}
            for name, c in result.counts.items()
        ]
    )
    out = pd.concat([failures, held, counts], ignore_index=True)
    for col in RECORD_COLUMNS:
        if col not in out.columns:
            out[col] = None
    out["row"] = out["row"].astype("Int64")
    out["rows"] = out["rows"].astype("Int64")
    out["valid"] = out["valid"].astype("Int64")
    return out[list(RECORD_COLUMNS)]


def partition_tables(left: pd.DataFrame, right: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One cogrouped bucket as its tables, times in UTC."""
    tables = {**split_union(left), **split_union(right)}
    return {name: in_utc(frame) for name, frame in tables.items()}


def validate_bucket(
    left: pd.DataFrame, right: pd.DataFrame, template: CrmData, table_rows: Mapping[str, int]
) -> PartitionResult:
    """The contracts on one bucket (the cogrouped lead side and event side)."""
    return validate_partition(partition_tables(left, right), template, table_rows)


def cogrouped(
    crm: SparkCrm,
    buckets: int,
    fn: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame],
    schema: str,
    *,
    lead_side: tuple[str, ...] = ("leads", "outcomes"),
) -> pyspark.sql.DataFrame:
    """`fn(lead side, events)` once per bucket: every row of a lead meets in one call."""
    left = bucketed_union(crm, lead_side, buckets)
    right = bucketed_union(crm, ("events",), buckets)
    assert left is not None  # a CRM always has leads
    if right is None:  # no events file: an empty event side with the same key
        right = left.limit(0).select(BUCKET)
    return left.groupBy(BUCKET).cogroup(right.groupBy(BUCKET)).applyInPandas(fn, schema)


@dataclass
class SparkFindings:
    """What the contracts found over all partitions, gathered on the driver."""

    failures: pd.DataFrame  # FAILURE_COLUMNS, table-level first, then by file and row
    held: pyspark.sql.DataFrame  # RECORD_COLUMNS rows of kind "held" (stays on Spark)
    counts: dict[str, dict[str, int]]

    @property
    def ok(self) -> bool:
        return self.failures.empty


def _table_level(crm: SparkCrm, counts: dict[str, dict[str, int]]) -> pd.DataFrame:
    """`validate.table_failures` on each table's columns and whether it has rows: a stand-in
    row of missing values (its own row-level findings are not kept) or none."""
    heads: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        frame = crm.table(name)
        if frame is None:
            heads[name] = empty_table(name)
            continue
        n = 1 if counts[name]["rows"] else 0
        columns = [c for c in frame.columns if c not in SOURCE_COLUMNS]
        heads[name] = pd.DataFrame({c: pd.Series([None] * n, dtype=object) for c in columns})
    sample = replace(
        crm.template, leads=heads["leads"], events=heads["events"], outcomes=heads["outcomes"]
    )
    files = {name: crm.template.files.get(name, name) for name in TABLES}
    return table_failures(sample, files, frozenset(crm.template.files))


def gather_findings(crm: SparkCrm, result: pyspark.sql.DataFrame) -> SparkFindings:
    """Failures and counts of a partition job's records (`result` should be persisted)."""
    from pyspark.sql import functions as F

    found = result.filter(F.col(KIND).isin("failure", "count")).select(*RECORD_COLUMNS)
    rows = arrow_to_pandas(found.toArrow())
    counted = rows.loc[rows[KIND] == "count"].groupby("table")[["rows", "valid"]].sum()
    totals: dict[str, tuple[int, int]] = {
        str(name): (int(n), int(v))
        for name, n, v in zip(counted.index, counted["rows"], counted["valid"], strict=True)
    }
    counts = {}
    for name in TABLES:
        n, valid = totals.get(name, (0, 0))
        counts[name] = {"rows": n, "valid": valid, "quarantined": n - valid}
    order = {crm.template.files.get(n, n): i for i, n in enumerate(TABLES)}
    row_level = rows.loc[rows[KIND] == "failure", list(FAILURE_COLUMNS)]
    row_level = (
        row_level.assign(_order=row_level["file"].map(lambda f: order.get(f, len(order))))
        .sort_values(["_order", "file", "row", "column", "check"], kind="stable")
        .drop(columns="_order")
    )
    row_level["row"] = pd.Series(
        [int(r) for r in row_level["row"]], dtype=object, index=row_level.index
    )
    failures = pd.concat([_table_level(crm, counts), row_level], ignore_index=True)
    return SparkFindings(
        failures=failures,
        held=result.filter(F.col(KIND) == "held").select(*RECORD_COLUMNS),
        counts=counts,
    )


def write_quarantine(crm: SparkCrm, findings: SparkFindings, out_dir: Path) -> dict[str, Path]:
    """Each table's held-back rows as read, with `_row` and `_failures`, as a Parquet
    folder `<table>.parquet` per table with such rows (nothing is written when all pass)."""
    from pyspark.sql import functions as F

    written: dict[str, Path] = {}
    for name in TABLES:
        frame = crm.table(name)
        if frame is None or findings.counts[name]["quarantined"] == 0:
            continue
        held = findings.held.filter(F.col("table") == name).select(
            F.col("file").alias(SOURCE_FILE),
            F.col("row").alias(SOURCE_ROW),
            F.col("reasons").alias("_failures"),
        )
        rows = frame.join(held, on=list(SOURCE_COLUMNS), how="inner")
        columns = [c for c in frame.columns if c not in SOURCE_COLUMNS]
        keep = [SOURCE_ROW] if crm.single_file.get(name, True) else [SOURCE_FILE, SOURCE_ROW]
        path = Path(out_dir) / f"{name}.parquet"
        # One file in source order: held rows are few, and are read by a person.
        held_rows = rows.select(*keep, *[f"`{c}`" for c in columns], "_failures")
        held_rows.coalesce(1).sortWithinPartitions(*keep).write.mode("overwrite").parquet(str(path))
        written[name] = path
    return written


def validation_result(
    crm: SparkCrm, findings: SparkFindings, quarantined: dict[str, Path]
) -> ValidationResult:
    """The single-machine `ValidationResult`; the valid rows stay on Spark, so `valid`
    carries the tables' metadata (source, mapped columns, data end) with no rows."""
    return ValidationResult(
        ok=findings.ok,
        valid=crm.template,
        failures=findings.failures,
        quarantined=quarantined,
        counts=findings.counts,
    )


def _validation_udf(
    template: CrmData, table_rows: Mapping[str, int]
) -> Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]:
    def validate(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
        return for_spark(records(validate_bucket(left, right, template, table_rows)))

    return validate


def validate_on_spark(
    spark: pyspark.sql.SparkSession,
    data_dir: Path,
    mapping: Path | None = None,
    quarantine_dir: Path | None = None,
) -> ValidationResult:
    """`validate.validate_folder` on Spark: the same failures, counts and quarantined rows
    (as Parquet folders under `quarantine_dir`, default `DATA_DIR/quarantine`)."""
    crm = with_data_end(read_spark_crm(spark, data_dir, mapping))
    try:
        sizes = crm.sizes()
        buckets = n_buckets(spark, sizes["leads"])
        udf = _validation_udf(crm.template, sizes)
        result = cogrouped(crm, buckets, udf, RECORD_SCHEMA).persist()
        findings = gather_findings(crm, result)
        out_dir = (
            Path(quarantine_dir) if quarantine_dir is not None else Path(data_dir) / "quarantine"
        )
        quarantined = write_quarantine(crm, findings, out_dir)
        result.unpersist()
        return validation_result(crm, findings, quarantined)
    finally:
        crm.close()


__all__ = [
    "BUCKET",
    "DEFAULT_MASTER",
    "PAYLOAD",
    "RECORD_COLUMNS",
    "RECORD_SCHEMA",
    "SCHEMAS",
    "SparkCrm",
    "SparkFindings",
    "SparkUnavailable",
    "cogrouped",
    "gather_findings",
    "read_spark_crm",
    "spark_session",
    "validate_bucket",
    "validate_on_spark",
    "with_data_end",
]
