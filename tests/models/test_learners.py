"""The learner family: every member explains itself, keeps its promises, and the choice
judges each on rows nothing about it was tuned on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from models.calibration import expected_calibration_error
from models.encoding import encode
from models.learners import (
    BASELINE_TWINS,
    FAMILIES,
    Choice,
    choose,
    nonnegative_logistic,
    stratified_halves,
)
from models.scorer import SCORES

from .conftest import INTEREST_COLUMNS


@pytest.mark.parametrize("family", FAMILIES)
def test_contributions_sum_to_raw_score_every_family(family_scorers, synthetic_folds, family):
    scorer = family_scorers[family]
    X = synthetic_folds["test"].X.head(300)
    M, _ = encode(X, scorer.columns_, scorer.categories_)
    for score in SCORES:
        model = scorer.models_[score]
        sub = M[:, model.columns]
        total = model.learner.bias_ + model.learner.contributions(sub).sum(axis=1)
        np.testing.assert_allclose(total, model.learner.raw(sub), atol=1e-9, err_msg=score)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_serves_calibrated_ranked_scores(family_scorers, synthetic_folds, family):
    scorer = family_scorers[family]
    test = synthetic_folds["test"]
    parts = scorer.predict_parts(test.X)
    assert {c.chosen for c in scorer.choices_.values()} == {family}
    assert roc_auc_score(test.y, parts["combined_probability"]) > 0.75
    for col in parts.columns:
        assert expected_calibration_error(test.y, parts[col]) < 0.04, col


@pytest.mark.parametrize("family", FAMILIES)
def test_more_intent_never_lowers_interest_every_family(family_scorers, synthetic_folds, family):
    scorer = family_scorers[family]
    X = synthetic_folds["test"].X.head(500)
    for column in ("pricing_page_count_7d", "demo_request_count_30d"):
        more = X.assign(**{column: X[column] + 2})
        for score in ("interest", "combined"):
            before = scorer.predict_parts(X)[f"{score}_probability"].to_numpy()
            after = scorer.predict_parts(more)[f"{score}_probability"].to_numpy()
            assert (after >= before - 1e-12).all(), (column, score)


@pytest.mark.parametrize("family", FAMILIES)
def test_interest_change_never_moves_fit_every_family(family_scorers, synthetic_folds, family):
    scorer = family_scorers[family]
    X = synthetic_folds["test"].X.head(200)
    changed = X.assign(**{c: X[c] + 3 for c in INTEREST_COLUMNS})
    pd.testing.assert_series_equal(
        scorer.predict_parts(X)["fit_probability"],
        scorer.predict_parts(changed)["fit_probability"],
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_reasons_in_words_every_family(family_scorers, synthetic_folds, family):
    scorer = family_scorers[family]
    X = synthetic_folds["test"].X.head(40).assign(pricing_page_count_7d=6.0)
    for reasons in scorer.reasons(X, "interest", top_k=3):
        assert reasons and all(r["text"] and r["direction"] in ("up", "down") for r in reasons)
        hit = [r for r in reasons if r["feature"] == "pricing_page_count_7d"]
        assert not hit or hit[0]["direction"] == "up"


def test_baseline_twins_are_declared_families_and_baselines() -> None:
    from models.baselines import BASELINE_NAMES

    assert set(BASELINE_TWINS) <= set(FAMILIES)
    assert set(BASELINE_TWINS.values()) <= set(BASELINE_NAMES)


def test_stratified_halves_share_out_wins_and_losses() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1])
    a, b = stratified_halves(y, seed=3)
    assert sorted(np.concatenate([a, b]).tolist()) == list(range(len(y)))
    assert abs(int(y[a].sum()) - int(y[b].sum())) <= 1
    assert abs(len(a) - len(b)) <= 1


class _Fixed:
    """A stand-in for a fitted learner: only its honest validation scores matter to `choose`."""

    def __init__(self, family: str, cross: np.ndarray) -> None:
        self.family = family
        self.cross_raw_ = cross


def test_choose_best_cross_fitted_auc_and_names_the_runner_up() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.3).astype(float)
    halves = stratified_halves(y, 0)
    strong = y + rng.normal(scale=0.5, size=len(y))
    weak = y + rng.normal(scale=2.0, size=len(y))
    learners = {"frequency": _Fixed("frequency", weak), "logistic": _Fixed("logistic", strong)}
    choice = choose(learners, y, halves)  # type: ignore[arg-type]
    assert isinstance(choice, Choice)
    assert (choice.chosen, choice.runner_up) == ("logistic", "frequency")
    assert choice.val_auc["logistic"] > choice.val_auc["frequency"]


def test_choose_tie_goes_to_the_simpler_family() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(300) < 0.3).astype(float)
    same = y + rng.normal(size=len(y))
    learners = {f: _Fixed(f, same) for f in ("lightgbm", "logistic")}
    assert choose(learners, y, stratified_halves(y, 0)).chosen == "logistic"  # type: ignore[arg-type]
    near = {"lightgbm": _Fixed("lightgbm", same + 1e-3 * y), "logistic": _Fixed("logistic", same)}
    assert choose(near, y, stratified_halves(y, 0), margin=0.05).chosen == "logistic"  # type: ignore[arg-type]


def test_blend_weights_never_invert_a_member() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(2_000) < 0.3).astype(float)
    good = y + rng.normal(scale=1.0, size=len(y))
    backwards = -y + rng.normal(scale=1.0, size=len(y))
    coef, _ = nonnegative_logistic(np.column_stack([good, backwards]), y)
    assert coef[0] > 0 and coef[1] == 0


def test_blend_without_usable_member_predicts_the_base_rate() -> None:
    rng = np.random.default_rng(4)
    y = (rng.random(1_000) < 0.2).astype(float)
    backwards = np.column_stack([-y + rng.normal(size=len(y)), -y + rng.normal(size=len(y))])
    coef, intercept = nonnegative_logistic(backwards, y)
    assert np.all(coef == 0)
    assert 1 / (1 + np.exp(-intercept)) == pytest.approx(y.mean())


def test_unknown_family_refused_by_name(synthetic_folds) -> None:
    from models.scorer import LeadScorer

    tr = synthetic_folds["train"]
    with pytest.raises(ValueError, match="unknown learner families \\['deep_net'\\]"):
        LeadScorer(families=("deep_net",)).fit(
            tr.X,
            tr.y,
            X_cal=tr.X,
            y_cal=tr.y,
            fit_columns=["employees_log"],
            interest_columns=["pricing_page_count_7d"],
        )
