"""LeadScorer: estimator contract, calibration, combined AUC, unseen categories, behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from models.calibration import expected_calibration_error
from models.policy import QuadrantPolicy
from models.scorer import SCORED_COLUMNS, LeadScorer
from tests.models.conftest import CATEGORICAL, FIT_COLUMNS, INTEREST_COLUMNS


def test_clone_copies_params_unfitted() -> None:
    scorer = LeadScorer(families=("logistic",), calibration="platt")
    twin = clone(scorer)
    assert twin.get_params() == scorer.get_params()
    assert not [k for k in vars(twin) if k.endswith("_")]


def test_fitted_attributes_end_in_underscore(fitted_scorer) -> None:
    params = set(LeadScorer().get_params())
    learned = {k for k in vars(fitted_scorer) if k not in params}
    assert learned and all(k.endswith("_") for k in learned)


def test_calibrated_ece_small_on_held_out(fitted_scorer, synthetic_folds) -> None:
    test = synthetic_folds["test"]
    parts = fitted_scorer.predict_parts(test.X)
    for col in parts.columns:
        assert expected_calibration_error(test.y, parts[col]) < 0.03, col


def test_combined_auc_near_oracle(fitted_scorer, synthetic_folds) -> None:
    test = synthetic_folds["test"]
    parts = fitted_scorer.predict_parts(test.X)
    oracle = roc_auc_score(test.y, test.p_win)
    combined = roc_auc_score(test.y, parts["combined_probability"])
    assert combined >= oracle - 0.02
    assert combined > roc_auc_score(test.y, parts["fit_probability"])
    assert combined > roc_auc_score(test.y, parts["interest_probability"])


def test_unseen_category_scored_and_flagged(fitted_scorer, synthetic_folds) -> None:
    X = synthetic_folds["test"].X.head(3).copy()
    X["seniority"] = X["seniority"].astype(object)
    X.iloc[0, X.columns.get_loc("seniority")] = "chief_wizard"
    X.iloc[1, X.columns.get_loc("seniority")] = None
    out = fitted_scorer.score_leads(X, QuadrantPolicy())
    assert out["unseen_categories"].tolist() == [["seniority=chief_wizard"], [], []]
    assert out["fit_probability"].between(0, 1).all()


def test_score_leads_columns_and_ranges(fitted_scorer, synthetic_folds) -> None:
    X = synthetic_folds["test"].X.head(50)
    out = fitted_scorer.score_leads(X, QuadrantPolicy(fit_threshold=30, interest_threshold=30))
    assert list(out.columns) == list(SCORED_COLUMNS)
    assert out.index.tolist() == X.index.tolist()
    assert (out["combined_score"] == np.rint(100 * out["combined_probability"])).all()
    assert out["tier"].between(1, 4).all()
    assert set(out["quadrant"]) <= {"sales_now", "nurture", "order_taker", "group_resources"}
    reason = out["fit_reasons"].iloc[0][0]
    assert set(reason) == {"feature", "text", "direction", "weight"}


def test_score_leads_reason_text_is_each_scores_reasons_on_one_line(
    fitted_scorer, synthetic_folds
) -> None:
    from models.reasons import reason_line

    out = fitted_scorer.score_leads(synthetic_folds["test"].X.head(40), QuadrantPolicy())
    for _, row in out.iterrows():
        assert row["fit_reason_text"] == reason_line(row["fit_reasons"])
        assert row["interest_reason_text"] == reason_line(row["interest_reasons"])
        assert row["combined_reason_text"] == reason_line(
            row["fit_reasons"], row["interest_reasons"]
        )
    assert out["combined_reason_text"].str.len().gt(0).all()
    silent = fitted_scorer.score_leads(
        synthetic_folds["test"].X.head(3), QuadrantPolicy(), reasons=False
    )
    assert silent["combined_reason_text"].tolist() == ["", "", ""]


def test_score_leads_empty_frame(fitted_scorer, synthetic_folds) -> None:
    out = fitted_scorer.score_leads(synthetic_folds["test"].X.head(0), QuadrantPolicy())
    assert len(out) == 0 and list(out.columns) == list(SCORED_COLUMNS)


def test_pricing_visit_never_lowers_interest(fitted_scorer, synthetic_folds) -> None:
    X = synthetic_folds["test"].X.head(500)
    more = X.copy()
    more["pricing_page_count_7d"] += 1
    before = fitted_scorer.predict_parts(X)["interest_probability"]
    after = fitted_scorer.predict_parts(more)["interest_probability"]
    assert (after.to_numpy() >= before.to_numpy() - 1e-12).all()


def test_interest_change_does_not_move_fit(fitted_scorer, synthetic_folds) -> None:
    X = synthetic_folds["test"].X.head(200)
    changed = X.assign(web_visit_count_30d=X["web_visit_count_30d"] + 5)
    pd.testing.assert_series_equal(
        fitted_scorer.predict_parts(X)["fit_probability"],
        fitted_scorer.predict_parts(changed)["fit_probability"],
    )


def test_irrelevant_column_does_not_move_score(fitted_scorer, synthetic_folds) -> None:
    X = synthetic_folds["test"].X.head(200)
    changed = X.assign(email="someone@else.example", company_notes="free text")
    pd.testing.assert_frame_equal(
        fitted_scorer.predict_parts(X), fitted_scorer.predict_parts(changed)
    )


def test_feature_importance_per_score(fitted_scorer) -> None:
    imp = fitted_scorer.feature_importance()
    assert set(imp) == {"fit", "interest", "combined"}
    assert max(imp["fit"], key=imp["fit"].get) != "fit_noise"
    assert sum(imp["interest"].values()) == pytest.approx(1.0)


def test_fit_single_class_rejected(synthetic_folds) -> None:
    tr = synthetic_folds["train"]
    with pytest.raises(ValueError):
        LeadScorer().fit(
            tr.X,
            np.zeros(len(tr.y)),
            X_cal=tr.X,
            y_cal=tr.y,
            fit_columns=["employees_log"],
            interest_columns=["pricing_page_count_7d"],
        )


def test_category_first_seen_after_training_is_unseen(synthetic_folds) -> None:
    """Features are built on the whole table, so the dtype lists every later category too;
    the scorer learns only those its training rows hold."""
    train, cal = synthetic_folds["train"], synthetic_folds["cal"]
    late = "industry_born_later"
    X = pd.concat([train.X, cal.X.head(1)])
    X["industry"] = X["industry"].cat.add_categories([late])
    X.iloc[-1, X.columns.get_loc("industry")] = late
    X_train = X.iloc[:-1]
    assert late in X_train["industry"].cat.categories  # the dtype knows it...
    scorer = LeadScorer(families=("frequency",)).fit(
        X_train,
        train.y,
        X_cal=cal.X,
        y_cal=cal.y,
        fit_columns=FIT_COLUMNS,
        interest_columns=INTEREST_COLUMNS,
        categorical_columns=CATEGORICAL,
    )
    assert late not in scorer.categories_["industry"]  # ...the model does not
    out = scorer.score_leads(X.tail(1), QuadrantPolicy(), reasons=False)
    assert out["unseen_categories"].iloc[0] == [f"industry={late}"]
