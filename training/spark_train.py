"""`handoff train --engine spark`: the labelled feature table built on Spark, then the
usual training on it.

Events -> features is the heavy part, so that is what Spark does: each bucket of leads,
with its events and outcomes, passes the same contracts (`data_contracts.spark_validate`),
then `training.prepare.labelled_features` -- the single-machine labels and features --
inside one pandas UDF. The driver gathers the labelled rows (all of them, or a stratified
sample when there are more than `max_rows`, said in the run's summary) in source order, and
from there it is `handoff train`: the same time split and leakage guard
(`prepare.split_and_guarded`), then `train.train_prepared` (fit, evaluate with the verdict,
log and register), so the MLflow version is the same kind as a single-machine run's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from data_contracts.crm_data import CrmData
from data_contracts.partition import SOURCE_COLUMNS, SOURCE_FILE, SOURCE_ROW
from data_contracts.spark_tables import (
    KIND,
    PAYLOAD,
    SparkCrm,
    arrow_to_pandas,
    cogrouped,
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
    validation_result,
    write_quarantine,
)
from features._table import resolve_extras
from features.build import FeatureFrame, feature_sets
from features.feature_sets import DEFAULT_CURRENCY, DEFAULT_HALF_LIFE_DAYS, FeatureSet
from features.spark_features import as_rows, feature_ddl, restore_features
from models.settings import Settings
from training.labelled import NOT_ON_SPARK
from training.phases import PhaseClock
from training.prepare import (
    TrainingData,
    _oracle,
    accepted,
    data_fingerprint,
    labelled_features,
    split_and_guarded,
)
from training.summary import TrainResult
from training.train import train_prepared

if TYPE_CHECKING:
    import pyspark.sql

# More labelled leads than this are trained on a stratified sample (the feature rows of
# one lead take ~0.5 KB on the driver, and LightGBM copies them once more).
MAX_TRAIN_ROWS = 5_000_000
SAMPLE_SEED = 0
LABEL_COLUMNS: tuple[str, ...] = ("snapshot_at", "label", "censored", "open")
_LABEL_DDL = "snapshot_at timestamp, label bigint, censored boolean, open boolean"


def _extras(crm: SparkCrm) -> tuple[dict[str, str], dict[str, str]]:
    """The mapped fit and interest columns with their kinds, judged on all mapped leads
    (a partition's few leads could read a text column as numbers)."""
    leads = crm.mapped.leads if crm.mapped is not None else crm.template.leads
    return (
        resolve_extras(leads, crm.template.fit_columns),
        resolve_extras(leads, crm.template.interest_columns),
    )


def _features_udf(
    template: CrmData,
    table_rows: dict[str, int],
    horizon_days: int,
    half_life_days: float,
    extras: tuple[dict[str, str], dict[str, str]],
    columns: list[str],
) -> Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]:
    def build(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
        checked = validate_bucket(left, right, template, table_rows)
        valid = checked.valid
        if len(valid.leads):
            built, labels = labelled_features(
                valid, horizon_days, half_life_days, extras=extras, with_accounts=False
            )
            rows = as_rows(built.frame, built.categorical_columns).reset_index(names="lead_id")
            rows[SOURCE_FILE] = checked.lead_sources[SOURCE_FILE].to_numpy(dtype=object)
            rows[SOURCE_ROW] = checked.lead_sources[SOURCE_ROW].to_numpy(dtype=np.int64)
            for col in LABEL_COLUMNS:
                rows[col] = labels[col].to_numpy()
            rows["label"] = labels["label"].astype("Int64").to_numpy()
            payload = rows[columns]
        else:
            payload = pd.DataFrame(columns=columns)
        return tagged(payload, records(checked))

    return build


def _gathered(frame: pyspark.sql.DataFrame) -> pd.DataFrame:
    """Rows from Spark in the leads' source order (the order one machine reads them in)."""
    rows = arrow_to_pandas(frame.toArrow())
    return rows.sort_values(list(SOURCE_COLUMNS), kind="stable").reset_index(drop=True)


def sample_plan(n_labelled: int, max_rows: int) -> tuple[float | None, dict[str, Any]]:
    """The fraction of wins and of losses to train on (None: all of them), and what the
    run's summary says about it. One fraction for both keeps the win rate, so calibration
    learns the rate the model will meet."""
    if n_labelled <= max_rows:
        return None, {"trained_on": f"all {n_labelled} labelled leads"}
    fraction = max_rows / n_labelled
    return fraction, {
        "trained_on": (
            f"a stratified sample of the {n_labelled} labelled leads: {fraction:.4f} of the "
            f"wins and of the losses (seed {SAMPLE_SEED}), as more than {max_rows} are "
            "more than this machine trains on"
        ),
        "sample_fraction": fraction,
    }


def _sampled(
    payload: pyspark.sql.DataFrame, n_labelled: int, max_rows: int
) -> tuple[pyspark.sql.DataFrame, dict[str, Any]]:
    """The labelled rows to train on, as `sample_plan` says."""
    from pyspark.sql import functions as F

    labelled = payload.filter(~F.col("censored"))
    fraction, note = sample_plan(n_labelled, max_rows)
    if fraction is None:
        return labelled, note
    return labelled.sampleBy("label", {0: fraction, 1: fraction}, seed=SAMPLE_SEED), note


def _guard_crm(crm: SparkCrm, lead_ids: pd.Index) -> CrmData:
    """What the leakage guard reads besides the features: the mapping's `[keep]` and, for a
    mapped export (mapped on the driver, so already in memory), the exported values of the
    leads trained on (a plain folder has no mapped extras to read)."""
    if crm.mapped is None:
        return crm.template
    leads = crm.mapped.leads
    trained = leads[leads["lead_id"].astype(str).isin(lead_ids.astype(str))]
    return replace(crm.template, leads=trained.drop_duplicates("lead_id"))


def prepare_on_spark(
    spark: pyspark.sql.SparkSession,
    data_dir: Path,
    *,
    mapping: Path | None = None,
    horizon_days: int = 180,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    skip_invalid_rows: bool = False,
    max_rows: int = MAX_TRAIN_ROWS,
    clock: PhaseClock | None = None,
    currency: str = DEFAULT_CURRENCY,
) -> TrainingData:
    """`prepare.prepare_training_data` with contracts, labels and features on Spark."""
    from pyspark.sql import functions as F

    clock = clock or PhaseClock()
    data_dir = Path(data_dir)
    with clock.phase("fingerprint"):
        fingerprint = data_fingerprint(data_dir, mapping)
    crm = with_data_end(read_spark_crm(spark, data_dir, mapping))
    try:
        extras = _extras(crm)
        sets: list[FeatureSet] = list(
            feature_sets(extras[0], extras[1], half_life_days=half_life_days)
        )
        names = [spec.name for fs in sets for spec in fs.features]
        columns = ["lead_id", *SOURCE_COLUMNS, *names, *LABEL_COLUMNS]
        schema = (
            f"lead_id string, {SOURCE_FILE} string, {SOURCE_ROW} bigint, "
            f"{feature_ddl(sets)}, {_LABEL_DDL}, {RECORD_SCHEMA}"
        )
        with clock.phase("spark: contracts+labels+features"):
            sizes = crm.sizes()
            buckets = n_buckets(spark, sizes["leads"])
            udf = _features_udf(crm.template, sizes, horizon_days, half_life_days, extras, columns)
            result = cogrouped(crm, buckets, udf, schema).persist()
            findings = gather_findings(crm, result)
            quarantined = write_quarantine(crm, findings, data_dir / "quarantine")
        validation = accepted(validation_result(crm, findings, quarantined), skip_invalid_rows)
        with clock.phase("gather"):
            payload = result.filter(F.col(KIND) == PAYLOAD)
            labels = _gathered(payload.select("lead_id", *SOURCE_COLUMNS, *LABEL_COLUMNS))
            n_labelled = int((~labels["censored"].astype(bool)).sum())
            chosen, note = _sampled(payload, n_labelled, max_rows)
            rows = _gathered(chosen.select("lead_id", *SOURCE_COLUMNS, *names))
        result.unpersist()
    finally:
        crm.close()

    labels = labels.set_index("lead_id")[list(LABEL_COLUMNS)]
    labels["label"] = labels["label"].astype("Int8")
    X = restore_features(rows.set_index("lead_id"), sets)
    X.index.name = "lead_id"
    fit_set, interest_set = sets
    features = FeatureFrame(
        frame=X,
        fit_columns=fit_set.columns,
        interest_columns=interest_set.columns,
        categorical_columns=fit_set.categorical_columns + interest_set.categorical_columns,
        feature_sets=[fs.with_currency(currency) for fs in sets],
    )
    y = labels["label"].loc[X.index].to_numpy().astype(int)
    snapshot = labels["snapshot_at"].loc[X.index]
    split, features, X, leakage = split_and_guarded(
        _guard_crm(crm, X.index), features, X, y, snapshot, clock
    )
    master = spark.sparkContext.master
    return TrainingData(
        data_dir=data_dir,
        mapping=mapping,
        fingerprint=fingerprint,
        validation=validation,
        features=features,
        labels=labels,
        X=X,
        y=y,
        snapshot=snapshot,
        split=split,
        horizon_days=horizon_days,
        half_life_days=half_life_days,
        skip_invalid_rows=skip_invalid_rows,
        oracle=_oracle(data_dir, X.index[split.test]),
        leakage=leakage,
        engine={
            "name": "spark",
            "master": master,
            "buckets": buckets,
            "account_features": NOT_ON_SPARK,
            **note,
        },
    )


def train_on_spark(
    spark: pyspark.sql.SparkSession,
    data_dir: Path,
    *,
    mapping: Path | None = None,
    horizon_days: int = 180,
    policy_path: Path | None = None,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    settings: Settings | None = None,
    skip_invalid_rows: bool = False,
    max_rows: int = MAX_TRAIN_ROWS,
) -> TrainResult:
    """`train.run_training` with the labelled feature table built on Spark."""
    settings = settings or Settings()
    clock = PhaseClock()
    data = prepare_on_spark(
        spark,
        Path(data_dir),
        mapping=mapping,
        horizon_days=horizon_days,
        half_life_days=half_life_days,
        skip_invalid_rows=skip_invalid_rows,
        max_rows=max_rows,
        clock=clock,
        currency=settings.currency,
    )
    return train_prepared(data, policy_path=policy_path, settings=settings, clock=clock)
