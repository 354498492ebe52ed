"""The time split never lets a later lead into an earlier fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.split import time_ordered_split


def _times(n: int, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    offsets = rng.integers(0, 365 * 24, size=n)
    return pd.Series(pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(offsets, unit="h"))


def test_split_folds_are_time_ordered_shuffled_input() -> None:
    times = _times(1000)
    split = time_ordered_split(times)
    assert times.iloc[split.train].max() < times.iloc[split.val].min()
    assert times.iloc[split.val].max() < times.iloc[split.test].min()


def test_split_covers_every_row_once() -> None:
    times = _times(997, seed=3)
    split = time_ordered_split(times)
    everything = np.concatenate([split.train, split.val, split.test])
    assert sorted(everything.tolist()) == list(range(997))


def test_split_shares_roughly_requested() -> None:
    split = time_ordered_split(_times(10_000), val_share=0.2, test_share=0.2)
    assert 5800 <= len(split.train) <= 6200
    assert 1800 <= len(split.test) <= 2200


def test_split_ties_go_to_later_fold() -> None:
    times = pd.Series(
        [pd.Timestamp("2025-01-01", tz="UTC")] * 5
        + [pd.Timestamp("2025-02-01", tz="UTC")] * 5
        + [pd.Timestamp("2025-03-01", tz="UTC")] * 5
    )
    split = time_ordered_split(times, val_share=0.3, test_share=0.3)
    assert len(split.train) == 5 and len(split.val) == 5 and len(split.test) == 5


def test_split_refuses_tiny_data() -> None:
    with pytest.raises(ValueError, match="too few"):
        time_ordered_split(_times(5))


def test_split_refuses_one_timestamp_for_all() -> None:
    times = pd.Series([pd.Timestamp("2025-01-01", tz="UTC")] * 100)
    with pytest.raises(ValueError, match="fold empty"):
        time_ordered_split(times)
