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
    coef = np.concatenate(
        [*part.tables_, part.numeric_coef_, part.missing_coef_[part.has_missing_]]
    )
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


def test_linear_part_fits_scikit_learns_objective() -> None:
    """Unbounded, the bounded L-BFGS fit lands where scikit-learn's LogisticRegression does."""
    from sklearn.linear_model import LogisticRegression

    M, y = _data()
    part = LinearPart(C=0.5, tol=1e-8).fit(M, y, categorical=[0], n_categories=[4])
    design = part._design(M).astype(float)
    reference = LogisticRegression(C=0.5, max_iter=2000, tol=1e-8).fit(design, y)
    ours = np.concatenate(
        [*part.tables_, part.numeric_coef_, part.missing_coef_[part.has_missing_]]
    )
    np.testing.assert_allclose(ours, reference.coef_[0], atol=1e-3)
    assert abs(part.intercept_ - reference.intercept_[0]) < 1e-3


def test_linear_part_bounded_coefficient_never_negative() -> None:
    rng = np.random.default_rng(7)
    n = 3_000
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.0 - 1.2 * x)))).astype(int)  # x lowers the odds
    M = np.column_stack([x, rng.normal(size=n)])
    free = LinearPart().fit(M, y, categorical=[], n_categories=[])
    bounded = LinearPart().fit(M, y, categorical=[], n_categories=[], nonnegative=[0])
    assert free.numeric_coef_[0] < -0.5
    assert bounded.numeric_coef_[0] == 0.0


def test_linear_contributions_sum_to_decision() -> None:
    M, y = _data()
    part = LinearPart().fit(M, y, categorical=[0], n_categories=[4])
    c = part.contributions(M)
    assert c.shape == M.shape
    np.testing.assert_allclose(part.bias_ + c.sum(axis=1), part.decision(M), atol=1e-12)
