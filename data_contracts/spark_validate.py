"""The contracts on Spark: one pandas UDF per bucket of leads runs the single-machine rules.

Every row of a lead, in every table, is in one bucket (`spark_tables`), so
`partition.validate_partition` on each finds exactly what `validate.validate_folder` finds
on the whole folder; table-level findings (a missing column, an empty file) are judged once
on the driver by the same code (`validate.table_failures`). A UDF returns its findings as
`RECORD_COLUMNS` rows (failures, held rows, counts) beside whatever else it computed, so a
job that also builds features or scores reads the data once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from data_contracts.crm_data import TABLES, CrmData, empty_table
from data_contracts.cross_table import FAILURE_COLUMNS
from data_contracts.partition import (
    SOURCE_COLUMNS,
    SOURCE_FILE,
    SOURCE_ROW,
    PartitionResult,
    stand_in,
    validate_partition,
)
from data_contracts.spark_tables import (
    KIND,
    SparkCrm,
    arrow_to_pandas,
    cogrouped,
    for_spark,
    in_utc,
    n_buckets,
    read_spark_crm,
    split_union,
    with_data_end,
)
from data_contracts.validate import ValidationResult, in_source_order, table_failures

if TYPE_CHECKING:
    import pyspark.sql

# The record columns every partition UDF returns beside its payload.
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
    """`validate.table_failures` on each table's `partition.stand_in`."""
    heads: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        frame = crm.table(name)
        if frame is None:
            heads[name] = empty_table(name)
            continue
        columns = [c for c in frame.columns if c not in SOURCE_COLUMNS]
        heads[name] = stand_in(columns, counts[name]["rows"] > 0)
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
    row_level = rows.loc[rows[KIND] == "failure", list(FAILURE_COLUMNS)]
    row_level["row"] = pd.Series(
        [int(r) for r in row_level["row"]], dtype=object, index=row_level.index
    )
    files = {name: crm.template.files.get(name, name) for name in TABLES}
    failures = in_source_order(
        pd.concat([_table_level(crm, counts), row_level], ignore_index=True), files
    )
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
