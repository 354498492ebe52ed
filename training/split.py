"""Time-ordered train / calibration / test split: the future is never used to fit the past."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class TimeSplit:
    """Positional row indices of each fold and the time window each covers."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    val_start: pd.Timestamp
    test_start: pd.Timestamp

    def windows(self, times: pd.Series) -> dict[str, dict[str, str]]:
        """First and last snapshot time per fold, for the run's record."""
        out: dict[str, dict[str, str]] = {}
        for name, idx in (("train", self.train), ("val", self.val), ("test", self.test)):
            fold = times.iloc[idx]
            out[name] = {"start": str(fold.min()), "end": str(fold.max()), "rows": str(len(idx))}
        return out


def time_ordered_split(
    times: pd.Series, *, val_share: float = 0.2, test_share: float = 0.2
) -> TimeSplit:
    """Cut by snapshot time at quantiles, so every validation and test row is later than
    every training row (ties at a cut go to the later fold)."""
    if not 0 < val_share < 1 or not 0 < test_share < 1 or val_share + test_share >= 1:
        raise ValueError("val_share and test_share must be in (0, 1) and sum to less than 1")
    if len(times) < 10:
        raise ValueError(f"too few labelled leads to split by time: {len(times)}")
    stamps = pd.to_datetime(times, utc=True).reset_index(drop=True)
    values = stamps.astype("int64").to_numpy()
    order = np.argsort(values, kind="stable")
    n = len(values)
    val_cut = order[int(n * (1 - val_share - test_share))]
    test_cut = order[int(n * (1 - test_share))]
    train = np.flatnonzero(values < values[val_cut])
    val = np.flatnonzero((values >= values[val_cut]) & (values < values[test_cut]))
    test = np.flatnonzero(values >= values[test_cut])
    if min(len(train), len(val), len(test)) == 0:
        raise ValueError(
            "time split left a fold empty: too many leads share one snapshot time "
            f"(train={len(train)}, val={len(val)}, test={len(test)})"
        )
    return TimeSplit(
        train=train,
        val=val,
        test=test,
        val_start=pd.Timestamp(stamps.iloc[val_cut]),
        test_start=pd.Timestamp(stamps.iloc[test_cut]),
    )
