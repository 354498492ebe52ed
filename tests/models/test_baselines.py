"""Baselines learn something on a signal dataset and cope with mapped `x_` columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from models.baselines import LogisticBaseline, NaiveBayesBaseline, PointsBaseline

BASELINES = [LogisticBaseline, NaiveBayesBaseline, PointsBaseline]


@pytest.mark.parametrize("cls", BASELINES)
def test_baseline_learns_signal_auc(cls, synthetic_folds) -> None:
    tr, te = synthetic_folds["train"], synthetic_folds["test"]
    model = cls().fit(tr.X, tr.y)
    p = model.predict_proba(te.X)
    assert p.shape == (len(te.X),)
    assert ((p >= 0) & (p <= 1)).all()
    assert roc_auc_score(te.y, p) > 0.6


@pytest.mark.parametrize("cls", BASELINES)
def test_baseline_clone_unfitted(cls) -> None:
    model = cls()
    assert clone(model).get_params() == model.get_params()


@pytest.fixture(scope="module")
def mapped_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """A mapped export: `x_` extras, object strings with gaps, bools, no contract columns."""
    rng = np.random.default_rng(5)
    n = 3000
    occupation = rng.choice(["student", "working", "unemployed", None], n)
    visits = rng.poisson(2, n).astype(float)
    time_on_site = rng.exponential(300, n)
    logit = -1.5 + 1.2 * (occupation == "working") + 0.002 * time_on_site
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame(
        {
            "x_occupation": occupation,
            "x_total_visits": visits,
            "x_time_on_site": np.where(rng.random(n) < 0.05, np.nan, time_on_site),
            "x_do_not_email": rng.random(n) < 0.1,
        }
    )
    return X, y


@pytest.mark.parametrize("cls", BASELINES)
def test_baseline_handles_mapped_columns(cls, mapped_frame) -> None:
    X, y = mapped_frame
    model = cls().fit(X.iloc[:2000], y[:2000])
    p = model.predict_proba(X.iloc[2000:])
    assert np.isfinite(p).all() and p.shape == (1000,)
    if cls is not PointsBaseline:  # hand-set points know nothing about these columns
        assert roc_auc_score(y[2000:], p) > 0.6


def test_naive_bayes_unseen_value_neutral(mapped_frame) -> None:
    X, y = mapped_frame
    model = NaiveBayesBaseline().fit(X, y)
    odd = X.head(1).assign(x_occupation="astronaut")
    base = X.head(1).assign(x_occupation="never-seen-either")
    assert model.predict_proba(odd)[0] == pytest.approx(model.predict_proba(base)[0])


def test_points_grade_and_band_rates(synthetic_folds) -> None:
    tr = synthetic_folds["train"]
    model = PointsBaseline().fit(tr.X, tr.y)
    assert "pricing_page_count_7d" in model.point_columns_
    grades = model.grade(tr.X)
    assert set(np.unique(grades)) <= {"A", "B", "C", "D"}
    rate_a = tr.y[grades == "A"].mean()
    rate_d = tr.y[grades == "D"].mean()
    assert rate_a > rate_d


def test_baselines_learn_only_the_training_rows_categories(synthetic_folds) -> None:
    """The feature frame's dtype lists a category first seen after the training window; the
    one-hot levels and the frequency table must not know it."""
    tr = synthetic_folds["train"]
    late = "industry_born_later"
    X = tr.X.assign(industry=tr.X["industry"].cat.add_categories([late]))
    logistic = LogisticBaseline().fit(X, tr.y)
    encoder = logistic.pipeline_.named_steps["prep"].named_transformers_["cat"][-1]
    levels = {str(v) for cats in encoder.categories_ for v in cats}
    assert late not in levels and "software" in levels
    bayes = NaiveBayesBaseline().fit(X, tr.y)
    assert late not in bayes.log_ratios_["industry"] and "software" in bayes.log_ratios_["industry"]
