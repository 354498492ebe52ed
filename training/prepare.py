"""Training data, prepared once: contracts checked, labels with censoring, point-in-time
features, and the time-ordered split every later step reads.

Everything here reads the data folder and nothing else; fitting (`training.fit_evaluate`)
and logging (`training.log_run`) never go back to disk for data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.crm_data import TABLES, CrmData
from data_contracts.folder_buckets import BUCKET_LEADS, bucketed_folder
from data_contracts.validate import ValidationResult, validate_folder
from features.build import FeatureFrame
from features.feature_sets import DEFAULT_CURRENCY, DEFAULT_HALF_LIFE_DAYS
from features.roles import RolePolicy
from training.bucket_prepare import labelled_in_buckets
from training.labelled import (
    NO_ACCOUNTS_TABLE,
    TrainingRefused,
    accepted,
    account_features_use,
    labelled_features,
)
from training.leakage import LeakageReport, UnknownKeep, guard_features
from training.phases import PhaseClock
from training.split import TimeSplit, time_ordered_split

TRUTH_FILE = "truth.parquet"
FOLDS: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class TrainingData:
    """One folder ready to learn from: what was read, labelled and split, and how."""

    data_dir: Path
    mapping: Path | None
    fingerprint: str
    validation: ValidationResult
    features: FeatureFrame
    labels: pd.DataFrame  # every lead (censored too), indexed by lead_id
    X: pd.DataFrame  # feature rows of the labelled (uncensored) leads
    y: np.ndarray
    snapshot: pd.Series  # snapshot time of each labelled lead
    split: TimeSplit
    horizon_days: int
    half_life_days: float
    skip_invalid_rows: bool
    oracle: np.ndarray | None  # the generator's true p_win for the test rows, if known
    leakage: LeakageReport  # what the guard found on the training window, and did
    # Which engine prepared the data, and on what rows it trains (all labelled, or a sample).
    engine: dict[str, Any] = field(default_factory=lambda: {"name": "single-machine"})
    # Count each AE-rejected training lead once more as a loss (`training.feedback_eval`).
    rejection_as_negative: bool = False

    @property
    def crm(self) -> CrmData:
        return self.validation.valid

    def fold(self, name: str) -> tuple[pd.DataFrame, np.ndarray]:
        """Feature rows and labels of one fold ("train", "val" or "test")."""
        rows = getattr(self.split, name)
        return self.X.iloc[rows], self.y[rows]


def data_fingerprint(data_dir: Path, mapping: Path | None) -> str:
    """sha256 over the data files (and mapping), so a run names exactly what it learned from."""
    digest = hashlib.sha256()
    files = sorted(p for p in Path(data_dir).iterdir() if p.is_file() and p.suffix != ".json")
    if mapping is not None:
        files.append(Path(mapping))
    for path in files:
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()


def _oracle(data_dir: Path, lead_ids: pd.Index) -> np.ndarray | None:
    """The generator's true win probabilities for these leads, where a truth file exists."""
    path = Path(data_dir) / TRUTH_FILE
    if not path.exists():
        return None
    truth = pd.read_parquet(path, columns=["lead_id", "p_win"]).set_index("lead_id")["p_win"]
    aligned = truth.reindex(lead_ids)
    return None if aligned.isna().any() else aligned.to_numpy(dtype=float)


def validated(
    data_dir: Path, mapping: Path | None, skip_invalid_rows: bool = False
) -> ValidationResult:
    """Read (through the mapping, if any) and check the contracts; refuse failing data
    unless told to train on the rows that passed (the others are quarantined, and counted)."""
    return accepted(validate_folder(data_dir, mapping=mapping), skip_invalid_rows)


def quarantine_record(validation: ValidationResult) -> dict[str, dict[str, Any]]:
    """How many rows of each table were held back, and the file they went to."""
    return {
        table: {"rows": validation.counts[table]["quarantined"], "file": str(path)}
        for table, path in validation.quarantined.items()
    }


def labelled_rows(
    features: FeatureFrame, labels: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """Feature rows, 0/1 labels and snapshot times of the leads that are not censored."""
    labelled = ~labels["censored"].to_numpy(dtype=bool)
    X = features.frame.loc[labelled]
    y = labels["label"].to_numpy()[labelled].astype(int)
    return X, y, labels["snapshot_at"].loc[labelled]


def guarded(
    crm: CrmData,
    features: FeatureFrame,
    X: pd.DataFrame,
    y: np.ndarray,
    snapshot: pd.Series,
    rows: np.ndarray,
) -> tuple[FeatureFrame, pd.DataFrame, LeakageReport]:
    """The leakage guard on the training rows `rows`, before any model is fitted: suspects
    leave the features (unless the mapping keeps them); an unusable outcome is refused."""
    try:
        features, X, report = guard_features(
            features, rows, X, y, leads=crm.leads, snapshot=snapshot, keep=crm.kept_columns
        )
    except UnknownKeep as error:
        raise TrainingRefused(str(error)) from None
    for role, columns in (("fit", features.fit_columns), ("interest", features.interest_columns)):
        if not columns:
            raise TrainingRefused(
                f"the leakage guard excluded every {role} input:\n" + "\n".join(report.lines())
            )
    return features, X, report


def split_and_guarded(
    crm: CrmData,
    features: FeatureFrame,
    X: pd.DataFrame,
    y: np.ndarray,
    snapshot: pd.Series,
    clock: PhaseClock,
) -> tuple[TimeSplit, FeatureFrame, pd.DataFrame, LeakageReport]:
    """The time-ordered split, refused without wins and losses in every fold, and the
    leakage guard on its training window: the step after features, on either engine.
    `crm` carries the leads' exported extras (for the timestamp rule) and the mapping's
    `[keep]`."""
    split = time_ordered_split(snapshot)
    for name, label in zip(FOLDS, ("train", "validation", "test"), strict=True):
        if len(np.unique(y[getattr(split, name)])) < 2:
            raise TrainingRefused(
                f"the {label} window has only one outcome class: need wins and losses"
            )
    with clock.phase("leakage"):
        features, X, leakage = guarded(crm, features, X, y, snapshot, split.train)
    return split, features, X, leakage


def labelled_training_frame(
    data_dir: Path,
    *,
    mapping: Path | None = None,
    horizon_days: int = 180,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    guard_share: float = 0.5,
) -> tuple[pd.DataFrame, np.ndarray, pd.Series, FeatureFrame, LeakageReport]:
    """The labelled (uncensored) feature rows, labels and snapshot times `run_training`
    learns from, for evaluations that refit on other windows (`training.backtest`).

    The leakage guard reads the earliest `guard_share` of them (by snapshot time): the rows
    every later window trains on, and none of them tests on.
    """
    crm = validated(Path(data_dir), mapping).valid
    features, labels = labelled_features(crm, horizon_days, half_life_days)
    X, y, snapshot = labelled_rows(features, labels)
    times = pd.to_datetime(snapshot, utc=True).astype("int64").to_numpy()
    early = np.flatnonzero(times < np.quantile(times, guard_share)) if len(times) else times
    features, X, report = guarded(crm, features, X, y, snapshot, early)
    return X, y, snapshot, features, report


def prepare_training_data(
    data_dir: Path,
    *,
    mapping: Path | None = None,
    horizon_days: int = 180,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    skip_invalid_rows: bool = False,
    clock: PhaseClock | None = None,
    currency: str = DEFAULT_CURRENCY,
    rejection_as_negative: bool = False,
    bucket_leads: int = BUCKET_LEADS,
    account_features: bool = True,
    roles: RolePolicy | None = None,
) -> TrainingData:
    """Validate, label, build features, split by time and run the leakage guard on the
    training window; refuse data a model cannot learn from (failing contracts, or a fold
    without both wins and losses).

    A plain Parquet folder of more than `bucket_leads` leads is read a lead-id bucket at a
    time (`training.bucket_prepare`: the same features, labels and split, without holding
    the events); anything else is read whole.

    `currency` is what the leads' revenue is in: the feature sets record it, so the model's
    reasons say money in it. `rejection_as_negative`: see `TrainingData`. With an accounts
    table, the lead models also read account features (under `roles`) unless
    `account_features` is off; the run records which (`engine["account_features"]`)."""
    clock = clock or PhaseClock()
    data_dir = Path(data_dir)
    engine: dict[str, Any] = {"name": "single-machine"}
    with clock.phase("fingerprint"):
        fingerprint = data_fingerprint(data_dir, mapping)
    split_at = bucketed_folder(data_dir, mapping, TABLES, bucket_leads)
    if split_at is None:
        with clock.phase("read+validate"):
            validation = validated(data_dir, mapping, skip_invalid_rows)
        with clock.phase("features"):
            features, labels = labelled_features(
                validation.valid,
                horizon_days,
                half_life_days,
                with_accounts=account_features,
                roles=roles,
            )
        engine["account_features"] = account_features_use(validation.valid, account_features)
    else:
        with clock.phase("buckets: contracts+labels+features"):
            table = labelled_in_buckets(
                *split_at,
                horizon_days=horizon_days,
                half_life_days=half_life_days,
                bucket_leads=bucket_leads,
                quarantine_dir=data_dir / "quarantine",
                skip_invalid_rows=skip_invalid_rows,
            )
        validation, features, labels = table.validation, table.features, table.labels
        engine["buckets"] = table.n_buckets
        engine["account_features"] = NO_ACCOUNTS_TABLE  # `parquet_tables`: none in buckets
    features.feature_sets = [fs.with_currency(currency) for fs in features.feature_sets]
    X, y, snapshot = labelled_rows(features, labels)
    split, features, X, leakage = split_and_guarded(
        validation.valid, features, X, y, snapshot, clock
    )
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
        engine=engine,
        rejection_as_negative=rejection_as_negative,
    )
