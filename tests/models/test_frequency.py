"""The smoothed frequency table: Odoo's per-value win frequencies, scored in numpy."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from models.frequency import FrequencyTable


def _data(n: int = 3_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cat = rng.integers(0, 3, n).astype(float)
    cat[rng.random(n) < 0.1] = np.nan
    visits = rng.poisson(2, n).astype(float)
    logit = -1.5 + 0.6 * visits + np.where(cat == 1, 1.5, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return np.column_stack([cat, visits]), y


def test_frequency_table_learns_signal_and_sums_to_its_decision() -> None:
    M, y = _data()
    table = FrequencyTable().fit(M, y, categorical=[0], n_categories=[3])
    truth = -1.5 + 0.6 * M[:, 1] + np.where(M[:, 0] == 1, 1.5, 0.0)
    assert roc_auc_score(y, table.decision(M)) > roc_auc_score(y, truth) - 0.02
    np.testing.assert_allclose(
        table.bias_ + table.contributions(M).sum(axis=1), table.decision(M), atol=1e-12
    )


def test_frequency_ratios_never_fall_for_a_more_is_better_column() -> None:
    M, y = _data()
    rng = np.random.default_rng(9)
    noisy = M.copy()
    noisy[:, 1] = rng.poisson(2, len(M))  # no signal: raw ratios zig-zag
    table = FrequencyTable(n_bins=8).fit(
        noisy, y, categorical=[0], n_categories=[3], nonnegative=[1]
    )
    grid = np.column_stack([np.zeros(12), np.arange(12, dtype=float)])
    assert np.all(np.diff(table.contributions(grid)[:, 1]) >= 0)


def test_frequency_unseen_and_missing_values_say_what_missing_said() -> None:
    M, y = _data()
    table = FrequencyTable().fit(M, y, categorical=[0], n_categories=[3])
    rows = np.array([[np.nan, 2.0], [np.nan, 2.0]])
    c = table.contributions(rows)
    assert c[0, 0] == c[1, 0] and np.isfinite(c).all()


def test_frequency_one_row_same_bits_as_in_a_batch() -> None:
    M, y = _data()
    table = FrequencyTable().fit(M, y, categorical=[0], n_categories=[3])
    together = table.decision(M[:300])
    alone = np.array([table.decision(M[i : i + 1])[0] for i in range(300)])
    assert (together == alone).all()
