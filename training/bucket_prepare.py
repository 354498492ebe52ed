"""The labelled feature table of a plain Parquet folder too big to hold, built a lead-id
bucket at a time.

Each bucket (`data_contracts.folder_buckets`) holds every row of its leads, in every table,
so `bucket_validate.validated_buckets` finds on it what the contracts find on the whole
folder, and `labelled.labelled_features` -- labels and point-in-time features, unchanged --
needs nothing outside it: a lead's snapshot, horizon and features read only its own rows,
and the data end comes from the folder (`folder_buckets.folder_template`). Only the small
per-lead tables are kept (features, labels, the valid outcomes that the sales-feedback
table reads), never the events, and they are put back in the leads' source order, so the
time split sees what it sees on the whole folder. The one fact learned from the data as a
whole -- the categories of an open categorical feature (industry, country) -- is coded
again over all buckets (`features.build.concat_features`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from data_contracts.bucket_validate import BucketFindings, validated_buckets
from data_contracts.crm_data import TABLES, CrmData
from data_contracts.folder_buckets import scratch_dir, split_folder
from data_contracts.partition import SOURCE_ROW
from data_contracts.validate import ValidationResult
from features.build import FeatureFrame, concat_features
from training.labelled import accepted, labelled_features


@dataclass(frozen=True)
class BucketedTable:
    """What the buckets gave: the whole-folder validation (its `valid` holds the outcomes
    that passed and no leads or events), the features and the labels, leads in source order."""

    validation: ValidationResult
    features: FeatureFrame
    labels: pd.DataFrame
    n_buckets: int


def labelled_in_buckets(
    template: CrmData,
    paths: dict[str, Path],
    *,
    horizon_days: int,
    half_life_days: float,
    bucket_leads: int,
    quarantine_dir: Path,
    skip_invalid_rows: bool,
) -> BucketedTable:
    """Contracts, labels and features, one bucket of about `bucket_leads` leads at a time
    (`template`, `paths`: `folder_buckets.bucketed_folder`'s); failing data is refused as
    `prepare.validated` refuses it (`TrainingRefused`), after the buckets are read."""

    features: list[FeatureFrame] = []
    labels: list[pd.DataFrame] = []
    source_rows: list[np.ndarray] = []
    outcomes: list[pd.DataFrame] = []
    with scratch_dir() as root:
        buckets = split_folder(template, paths, TABLES, bucket_leads, Path(root) / "buckets")
        findings = BucketFindings(Path(root) / "held")
        for checked in validated_buckets(buckets, findings):
            valid = checked.valid
            outcomes.append(valid.outcomes)
            if not len(valid.leads):
                continue
            built, labelled = labelled_features(
                valid, horizon_days, half_life_days, with_accounts=False
            )
            features.append(built)
            labels.append(labelled)
            source_rows.append(checked.lead_sources[SOURCE_ROW].to_numpy(dtype=np.int64))
        validation = findings.result(template, quarantine_dir)
    validation.valid = replace(
        template, outcomes=pd.concat(outcomes, ignore_index=True) if outcomes else template.outcomes
    )
    accepted(validation, skip_invalid_rows)  # refuses, with the report, where no lead passed
    order = np.argsort(np.concatenate(source_rows), kind="stable")
    return BucketedTable(
        validation=validation,
        features=concat_features(features, order),
        labels=pd.concat(labels).iloc[order],
        n_buckets=buckets.n_buckets,
    )
