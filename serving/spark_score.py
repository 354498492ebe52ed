"""`handoff score --engine spark`: score a CRM folder with the champion on Apache Spark.

The single-machine path, partitioned: the champion is loaded on the driver exactly as
`handoff score` loads it (`batch_score.load_champion`, which refuses a version failing
`models.mlflow_layout.version_problems`) and broadcast; each bucket of leads, with its
events, is checked by the same contracts (`data_contracts.spark_validate`), scored by the
same `score_frame` / `flatten` / `checked_output` and so comes out in `ScoredLead`'s
columns. Rows failing the contracts are reported and quarantined, never dropped unseen.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from data_contracts.crm_data import CrmData
from data_contracts.schemas import ScoredLead
from data_contracts.spark_tables import (
    KIND,
    PAYLOAD,
    cogrouped,
    contract_ddl,
    n_buckets,
    read_spark_crm,
    tagged,
    with_data_end,
)
from data_contracts.spark_validate import (
    RECORD_SCHEMA,
    gather_findings,
    records,
    validate_bucket,
    write_quarantine,
)
from serving.batch_score import (
    OUTPUT_COLUMNS,
    UnsupportedOutput,
    accounts_out_of_reach,
    checked_output,
    flatten,
    load_champion,
    score_frame,
    scoring_time,
    summary_text,
    training_differences,
)
from serving.settings import ServingSettings

if TYPE_CHECKING:
    import pyspark.sql

    from serving.champion import Champion

OUTPUT_SCHEMA = f"{contract_ddl(ScoredLead.to_schema())}, {RECORD_SCHEMA}"


def check_spark_output(out: Path) -> Path:
    """Spark writes a Parquet folder of part files: `out` names it (no suffix or `.parquet`)."""
    if out.suffix not in ("", ".parquet"):
        raise UnsupportedOutput(
            f"{out}: the Spark engine writes a Parquet folder; name it without a suffix or "
            "with .parquet"
        )
    return out


def _scoring_udf(
    champion: pyspark.Broadcast[Champion],
    template: CrmData,
    table_rows: dict[str, int],
    when: pd.Timestamp,
    run_id: str,
    reasons: bool,
) -> Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]:
    def score(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
        checked = validate_bucket(left, right, template, table_rows)
        valid = checked.valid
        if len(valid.leads):
            model = champion.value
            scored = score_frame(model.model, valid.leads, valid.events, when, reasons=reasons)
            flat = checked_output(flatten(scored, model, when, run_id))
        else:
            flat = pd.DataFrame(columns=list(OUTPUT_COLUMNS))
        return tagged(flat, records(checked))

    return score


def score_on_spark(
    spark: pyspark.sql.SparkSession,
    data_dir: Path | str,
    *,
    out: Path | str,
    mapping: Path | str | None = None,
    settings: ServingSettings | None = None,
    as_of: pd.Timestamp | None = None,
    quarantine_dir: Path | None = None,
    reasons: bool = True,
) -> str:
    """Score every valid lead with the champion on Spark; write `out` (a Parquet folder) and
    the held-back rows under `quarantine_dir` (default `DATA_DIR/quarantine`)."""
    from pyspark.sql import functions as F

    started = time.perf_counter()
    out = check_spark_output(Path(out))
    settings = settings or ServingSettings()
    champion = load_champion(settings)
    if champion.model.reads_accounts:
        raise accounts_out_of_reach(champion, "Spark scores leads a partition at a time")
    crm = with_data_end(read_spark_crm(spark, Path(data_dir), Path(mapping) if mapping else None))
    try:
        when = scoring_time(as_of, crm.template.data_end)
        columns = pd.DataFrame(columns=crm.leads.columns)
        warnings = training_differences(champion, replace(crm.template, leads=columns))
        run_id = f"batch-{uuid.uuid4().hex}"
        shared = spark.sparkContext.broadcast(champion)
        sizes = crm.sizes()
        udf = _scoring_udf(shared, crm.template, sizes, when, run_id, reasons)
        buckets = n_buckets(spark, sizes["leads"])
        result = cogrouped(crm, buckets, udf, OUTPUT_SCHEMA, lead_side=("leads",)).persist()
        findings = gather_findings(crm, result)
        held = Path(quarantine_dir) if quarantine_dir is not None else Path(data_dir) / "quarantine"
        quarantined = write_quarantine(crm, findings, held)
        scored = result.filter(F.col(KIND) == PAYLOAD).select(*OUTPUT_COLUMNS)
        scored.write.mode("overwrite").parquet(str(out))
        quadrants = {
            str(row["quadrant"]): int(row["count"])
            for row in scored.groupBy("quadrant").count().collect()
        }
        result.unpersist()
        shared.unpersist()
    finally:
        crm.close()
    counts = findings.counts
    summary = summary_text(
        champion,
        when,
        out,
        seconds=time.perf_counter() - started,
        quadrants=quadrants,
        left_out=(counts["leads"]["quarantined"], counts["events"]["quarantined"]),
        warnings=warnings,
    )
    where = "".join(f"\nquarantined {t} rows written to {p}" for t, p in quarantined.items())
    return summary + where
