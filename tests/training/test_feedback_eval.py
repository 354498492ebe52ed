"""How a run ranks the AEs' decisions and meeting ratings (per band, percentiles, AUC), and
the option counting their rejections as extra negative evidence, point in time."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts.crm_data import CrmData
from data_contracts.synthetic import generate_to_folder
from features.feature_sets import DEFAULT_HALF_LIFE_DAYS
from training.feedback_eval import (
    feedback_metrics,
    feedback_ranking,
    rejection_lines,
    sales_feedback,
    score_bands,
    with_rejections_as_negative,
)
from training.fit_evaluate import fit_and_evaluate
from training.log_run import run_metrics, training_summary
from training.prepare import labelled_features, prepare_training_data, validated

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def _outcomes(rows: list[tuple[str, str, int, str | None, int | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": [r[0] for r in rows],
            "stage": [r[1] for r in rows],
            "occurred_at": [T0 + pd.Timedelta(days=r[2]) for r in rows],
            "reject_reason": pd.array([r[3] for r in rows], dtype="string"),
            "amount": np.nan,
            "meeting_rating": pd.array([r[4] for r in rows], dtype="Int64"),
        }
    )


def test_sales_feedback_takes_each_leads_first_decision_and_rating() -> None:
    outcomes = _outcomes(
        [
            ("a", "meeting_set", 1, None, 4),
            ("a", "sales_accepted", 3, None, None),
            ("b", "meeting_set", 1, None, 2),
            ("b", "sales_rejected", 2, "no_budget", None),
            ("b", "sales_accepted", 9, None, None),  # a later change of mind is not the decision
            ("z", "sales_rejected", 2, "poor_fit", None),  # not a lead asked about
        ]
    )
    fb = sales_feedback(outcomes, pd.Index(["a", "b", "c"]))
    assert fb["ae_decision"].tolist()[:2] == ["accepted", "rejected"]
    assert pd.isna(fb.loc["c", "ae_decision"])
    assert fb.loc["b", "reject_reason"] == "no_budget" and pd.isna(fb.loc["a", "reject_reason"])
    assert fb.loc["a", "meeting_rating"] == 4 and fb.loc["b", "meeting_rating"] == 2
    assert list(fb.index) == ["a", "b", "c"]


def test_score_bands_split_by_rank_best_first() -> None:
    assert score_bands([0.1, 0.9, 0.5, 0.7, 0.3], bands=5).tolist() == [5, 1, 3, 2, 4]


def test_feedback_ranking_rejected_at_the_bottom_gives_auc_one() -> None:
    n = 10
    p = np.linspace(0.9, 0.0, n)  # lead 0 best
    fb = pd.DataFrame(
        {
            "ae_decision": pd.array(["accepted"] * 4 + [None] * 2 + ["rejected"] * 4, "string"),
            "reject_reason": pd.array([None] * 6 + ["poor_fit"] * 3 + ["no_need"], "string"),
            "meeting_rating": pd.array([5, 5, 4, 4, None, None, 2, 2, 1, 1], "Float64"),
        },
        index=pd.Index([f"l{i}" for i in range(n)], name="lead_id"),
    )
    ranking = feedback_ranking(p, fb)
    assert ranking["accept_auc"] == 1.0
    assert ranking["n_decided"] == 8 and ranking["n_rejected"] == 4
    assert ranking["accepted_mean_percentile"] == pytest.approx(100 * (10 + 9 + 8 + 7) / 4 / 10)
    assert ranking["rejected_mean_percentile"] == pytest.approx(100 * (4 + 3 + 2 + 1) / 4 / 10)
    first, *_, last = ranking["bands"]
    assert (first["rejected_share"], first["mean_rating"]) == (0.0, 5.0)
    assert (last["rejected_share"], last["mean_rating"]) == (1.0, 1.0)
    assert ranking["bands"][2]["rejected_share"] is None  # band 3: no decision
    assert ranking["reasons"] == {"poor_fit": 3, "no_need": 1}
    metrics = feedback_metrics(ranking)
    assert metrics["test_ae_accept_auc"] == 1.0 and metrics["test_band5_meeting_rating"] == 1.0
    assert "test_band3_ae_rejected_share" not in metrics  # MLflow takes no missing value


def test_feedback_ranking_without_any_decision_says_nothing_it_cannot_know() -> None:
    fb = sales_feedback(_outcomes([]), pd.Index(["a", "b"]))
    ranking = feedback_ranking([0.2, 0.4], fb)
    assert ranking["n_decided"] == 0 and ranking["accept_auc"] is None
    assert feedback_metrics(ranking) == {"test_ae_decided": 0.0, "test_ae_rejected": 0.0}


def test_rejections_as_negative_repeat_only_rejected_losses() -> None:
    ids = pd.Index(["a", "b", "c", "d"], name="lead_id")
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}, index=ids)
    y = np.array([0, 1, 0, 0])
    labels = pd.DataFrame(  # in another order than the rows, with a lead not trained on
        {"terminal_stage": pd.array([None, "closed_lost", "sales_rejected", "sales_rejected"])},
        index=pd.Index(["d", "c", "a", "elsewhere"], name="lead_id"),
    ).reindex(["d", "c", "b", "a", "elsewhere"])
    labels.loc["b", "terminal_stage"] = "closed_won"
    X2, y2, added = with_rejections_as_negative(X, y, labels)
    assert added == 1 and X2.index.tolist() == ["a", "b", "c", "d", "a"]
    assert y2.tolist() == [0, 1, 0, 0, 0]


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> CrmData:
    folder = tmp_path_factory.mktemp("feedback") / "crm"
    generate_to_folder(n_leads=2_500, seed=4, out_dir=folder)
    return validated(folder, None).valid


def test_sales_feedback_never_reaches_a_leads_features(crm: CrmData) -> None:
    """Point in time: the AE decisions and ratings (all recorded after the snapshot) removed,
    every lead's features are the same; only its label side can differ."""
    outcomes = crm.outcomes
    sales = outcomes["stage"].isin(["sales_accepted", "sales_rejected"])
    assert sales.sum() > 100 and outcomes["meeting_rating"].notna().sum() > 100
    without = outcomes.loc[~sales].assign(meeting_rating=pd.NA)
    with_fb, labels = labelled_features(crm, 180, DEFAULT_HALF_LIFE_DAYS)
    no_fb, _ = labelled_features(replace(crm, outcomes=without), 180, DEFAULT_HALF_LIFE_DAYS)
    pd.testing.assert_frame_equal(with_fb.frame, no_fb.frame)
    first = outcomes.loc[sales].groupby("lead_id")["occurred_at"].min()
    assert (first > labels["snapshot_at"].reindex(first.index)).all()


def test_train_option_adds_rejected_losses_to_the_training_window_only(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    generate_to_folder(n_leads=1_500, seed=4, out_dir=folder)
    plain = prepare_training_data(folder)
    data = replace(plain, rejection_as_negative=True)
    X_train, _ = data.fold("train")
    rejected = int((data.labels.loc[X_train.index, "terminal_stage"] == "sales_rejected").sum())
    candidate = fit_and_evaluate(data)
    assert candidate.n_rejection_extra == rejected > 20, rejected
    assert len(candidate.scored) == len(data.split.test)  # the test window is untouched
    # Its effect measured in the run: the same fit without it, on the same test leads.
    effect = candidate.rejection_effect
    assert effect is not None
    assert effect["auc_with"] == pytest.approx(candidate.test_metrics["combined"]["roc_auc"])
    d = effect["difference"]
    assert d["estimate"] == pytest.approx(effect["auc_with"] - effect["auc_without"])
    assert d["low"] <= d["estimate"] <= d["high"]
    assert effect["word"] in ("better", "ties", "worse")
    assert rejection_lines(effect)[0].startswith("--rejection-as-negative: test AUC ")
    assert rejection_lines(None) == []
    # What the run records of it (the pure steps `log_and_register` writes).
    summary = training_summary(data, candidate)
    json.dumps(summary)  # the summary artifact takes it as it is
    metrics = run_metrics(summary, candidate)
    assert metrics["n_train_rejection_extra"] == rejected
    assert metrics["test_rejection_option_auc_difference_estimate"] == d["estimate"]
    assert metrics["test_combined_roc_auc_without_rejection_option"] == effect["auc_without"]
