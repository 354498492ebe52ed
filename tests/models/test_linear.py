"""The numpy logistic part scores exactly as scikit-learn fitted it, and survives the unseen."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from models.linear import LinearPart, row_dot


def _data(n: int = 4_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cat = rng.integers(0, 4, n).astype(float)
    cat[rng.random(n) < 0.1] = np.nan
    x = rng.normal(size=n)
    x[rng.random(n) < 0.2] = np.nan
    logit = -1.0 + np.nan_to_num(x) + np.where(cat == 2, 1.5, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return np.column_stack([cat, x]), y


def test_linear_part_learns_signal() -> None:
    M, y = _data()
    part = LinearPart().fit(M, y, categorical=[0], n_categories=[4])
    assert roc_auc_score(y, part.decision(M)) > 0.75


def test_linear_part_matches_design_times_coefficients() -> None:
    M, y = _data()
    part = LinearPart().fit(M, y, categorical=[0], n_categories=[4])
    coef = np.concatenate([*part.tables_, part.numeric_coef_, part.missing_coef_])
    expected = part._design(M).astype(float) @ coef + part.intercept_
    np.testing.assert_allclose(part.decision(M), expected, rtol=1e-5, atol=1e-5)


def test_linear_part_one_row_equals_bulk_row() -> None:
    M, y = _data()
    part = LinearPart().fit(M, y, categorical=[0], n_categories=[4])
    assert part.decision(M[7:8])[0] == part.decision(M)[7]


def test_linear_part_clips_far_out_values() -> None:
    M, y = _data()
    part = LinearPart().fit(M, y, categorical=[0], n_categories=[4])
    far = np.array([[1.0, 1e9]])
    very_far = np.array([[1.0, 1e12]])
    assert part.decision(far)[0] == part.decision(very_far)[0]
    assert np.isfinite(part.decision(np.array([[np.nan, np.nan]]))[0])


def test_row_dot_gives_each_row_the_same_bits_alone_or_in_a_batch() -> None:
    """`@` (BLAS) and column-ordered sums round differently by batch shape; row_dot must not."""
    rng = np.random.default_rng(3)
    w = rng.normal(size=44)
    batch = np.asfortranarray(rng.normal(size=(600, 44)))  # the layout fancy indexing returns
    together = row_dot(batch, w)
    alone = np.array([row_dot(batch[i : i + 1].copy(), w)[0] for i in range(len(batch))])
    assert (together == alone).all()


def test_linear_decision_same_bits_for_one_row_and_many() -> None:
    rng = np.random.default_rng(4)
    M = np.column_stack([rng.integers(0, 4, 500).astype(float), rng.normal(size=(500, 30))])
    y = (rng.random(500) < 0.3).astype(int)
    part = LinearPart().fit(M, y, categorical=[0], n_categories=[4])
    together = part.decision(M)
    alone = np.array([part.decision(M[i : i + 1])[0] for i in range(len(M))])
    assert (together == alone).all()
