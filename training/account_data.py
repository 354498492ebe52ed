"""Account training data, prepared once: contracts checked, account rows (one per account
and cut-off, labelled by a win within the horizon, censored rows left out), their point-in-
time features, and the time-ordered split by cut-off.

The lead pipeline's steps where they apply (`training.prepare.validated`, `data_fingerprint`,
`training.split.time_ordered_split`); only the rows differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from data_contracts.crm_data import CrmData
from data_contracts.validate import ValidationResult
from features.account_rows import ROW_EVERY_DAYS, account_row_features, account_rows
from training.phases import PhaseClock
from training.prepare import FOLDS, TRUTH_FILE, TrainingRefused, data_fingerprint, validated
from training.split import TimeSplit, time_ordered_split


@dataclass(frozen=True)
class AccountData:
    """One folder's account rows ready to learn from."""

    data_dir: Path
    mapping: Path | None
    fingerprint: str
    validation: ValidationResult
    rows: pd.DataFrame  # the labelled account rows (`features.account_rows`), by cut-off
    X: pd.DataFrame  # their features, index `account_id@as_of`
    y: np.ndarray
    split: TimeSplit
    horizon_days: int
    n_censored: int
    oracle: np.ndarray | None  # the generator's P(win within horizon) per test row, if known

    @property
    def crm(self) -> CrmData:
        return self.validation.valid

    def fold(self, name: str) -> tuple[pd.DataFrame, np.ndarray]:
        rows = getattr(self.split, name)
        return self.X.iloc[rows], self.y[rows]


def account_oracle(
    data_dir: Path, rows: pd.DataFrame, leads: pd.DataFrame, horizon_days: int
) -> np.ndarray | None:
    """On generated data: P(the account wins within the horizon) per row, as 1 - prod(1 - p)
    over its contacts created before the horizon ends (it knows contacts the model cannot:
    an upper reference, not a rival)."""
    path = Path(data_dir) / TRUTH_FILE
    if not path.exists() or "account_id" not in leads.columns:
        return None
    truth = pd.read_parquet(path, columns=["lead_id", "p_win"]).set_index("lead_id")["p_win"]
    p = truth.reindex(leads["lead_id"]).to_numpy(dtype=float)
    if np.isnan(p).any():
        return None
    contacts = pd.DataFrame(
        {"account_id": leads["account_id"].astype(object), "created_at": leads["created_at"]}
    ).assign(p=p)
    pairs = pd.DataFrame(
        {
            "account_id": rows["account_id"].astype(object).to_numpy(),
            "end": rows["as_of"].to_numpy() + pd.Timedelta(days=horizon_days),
            "row": np.arange(len(rows)),
        }
    ).merge(contacts, on="account_id")
    pairs = pairs.loc[pairs["created_at"] < pairs["end"]]
    log_none = np.log1p(-pairs["p"].clip(upper=1 - 1e-9)).groupby(pairs["row"]).sum()
    return np.asarray(
        1 - np.exp(log_none.reindex(np.arange(len(rows)), fill_value=0.0).to_numpy()), dtype=float
    )


def _split(rows: pd.DataFrame, y: np.ndarray) -> TimeSplit:
    """By cut-off (ties go to the later fold), refused without wins and losses in a fold."""
    try:
        split = time_ordered_split(rows["as_of"])
    except ValueError as error:
        raise TrainingRefused(f"the account rows cannot be split by time: {error}") from None
    for name, label in zip(FOLDS, ("train", "validation", "test"), strict=True):
        if len(np.unique(y[getattr(split, name)])) < 2:
            raise TrainingRefused(
                f"the {label} window of account rows has only one outcome class: need "
                "accounts that won and accounts that did not"
            )
    return split


def prepare_account_data(
    data_dir: Path,
    *,
    mapping: Path | None = None,
    horizon_days: int = 180,
    skip_invalid_rows: bool = False,
    clock: PhaseClock | None = None,
) -> AccountData:
    """Validate, build account rows every `ROW_EVERY_DAYS` with their features as of each
    cut-off, and split by cut-off; refuse a folder without accounts or without both
    outcomes in every window."""
    clock = clock or PhaseClock()
    data_dir = Path(data_dir)
    with clock.phase("fingerprint"):
        fingerprint = data_fingerprint(data_dir, mapping)
    with clock.phase("read+validate"):
        validation = validated(data_dir, mapping, skip_invalid_rows)
    crm = validation.valid
    if crm.accounts is None or not len(crm.accounts):
        raise TrainingRefused(
            f"{data_dir} has no accounts table: an account model learns from accounts "
            "(accounts.parquet or .csv, or a mapping's Account table)"
        )
    with clock.phase("account rows"):
        every = account_rows(
            crm.leads,
            crm.outcomes,
            crm.accounts,
            data_end=crm.data_end,
            horizon_days=horizon_days,
            every_days=ROW_EVERY_DAYS,
        )
        censored = every["censored"].to_numpy(dtype=bool)
        rows = every.loc[~censored].reset_index(drop=True)
        if len(rows) < 10:
            raise TrainingRefused(f"too few labelled account rows to learn from: {len(rows)}")
    with clock.phase("features"):
        X = account_row_features(rows, crm.leads, crm.events, crm.accounts)
    y = rows["label"].to_numpy(dtype=np.int64)
    split = _split(rows, y)
    oracle = account_oracle(data_dir, rows, crm.leads, horizon_days)
    return AccountData(
        data_dir=data_dir,
        mapping=mapping,
        fingerprint=fingerprint,
        validation=validation,
        rows=rows,
        X=X,
        y=y,
        split=split,
        horizon_days=horizon_days,
        n_censored=int(censored.sum()),
        oracle=None if oracle is None else oracle[split.test],
    )
