"""CRM tables on Apache Spark: reading them, and sending every row of a lead to one bucket.

Nothing here reimplements a rule. Every row of a lead, in every table, goes to the same
bucket (`BUCKET`, a hash of `lead_id`), and `cogrouped` runs a pandas UDF once per bucket:
the contracts (`spark_validate`), features and champion all run unchanged inside it, so
the data crosses the cluster once. pyspark is imported only inside these functions.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterator
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
from data_contracts.partition import SOURCE_COLUMNS, SOURCE_FILE, SOURCE_ROW

if TYPE_CHECKING:
    import pyarrow as pa
    import pyspark.sql

BUCKET = "_bucket"
TABLE = "_table"
KIND = "_kind"
PAYLOAD = "payload"
# Leads per UDF call: a bucket's leads, events and answers sit in one Python worker.
LEADS_PER_BUCKET = 20_000


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
        # The accounts of a mapped export are left out, as a folder's are: Spark checks the
        # three tables it partitions by lead (the accounts table is checked on one machine).
        template = replace(
            crm,
            leads=crm.leads.iloc[:0],
            events=crm.events.iloc[:0],
            outcomes=crm.outcomes.iloc[:0],
            extracted_at=crm.data_end,
            accounts=None,
            origin={name: o for name, o in crm.origin.items() if name in TABLES},
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
