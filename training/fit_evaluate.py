"""Fit the scorer and the baselines on prepared data and evaluate them: no I/O, one result.

`fit_and_evaluate` is pure (data in, `Candidate` out), so the backtest, benchmarks and tests
can call it without an MLflow store; `training.log_run` writes what it returns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.vocab import QUADRANTS
from models.baselines import BASELINE_NAMES, make_baselines
from models.policy import QuadrantPolicy, propose_policy, to_score
from models.scorer import SCORES, LeadScorer
from training.evaluate import gate_baselines, metrics_by_model, quadrant_table, unseen_summary
from training.feedback_eval import (
    feedback_ranking,
    rejection_effect,
    sales_feedback,
    with_rejections_as_negative,
)
from training.phases import PhaseClock
from training.prepare import TrainingData
from training.verdict import Verdict, verdict_for

EXAMPLES_PER_QUADRANT = 5


@dataclass(frozen=True)
class Candidate:
    """A fitted scorer with its policy, and how it and the baselines did on held-out folds."""

    scorer: LeadScorer
    policy: QuadrantPolicy
    scored: pd.DataFrame  # the scorer's answers on the test window (no reasons)
    test_probabilities: dict[str, np.ndarray]  # per model and baseline (and oracle)
    test_metrics: dict[str, dict[str, float]]
    val_metrics: dict[str, dict[str, float]]
    quadrants: pd.DataFrame  # per quadrant on the test window
    examples: list[dict[str, Any]]  # a few test leads per quadrant, with reasons
    verdict: Verdict  # the combined model against chance and the best baseline, intervals
    unseen: dict[str, Any]  # test leads with a category the training window never held
    feedback: dict[str, Any]  # how it ranks AE decisions and ratings (`training.feedback_eval`)
    n_rejection_extra: int = 0  # training rows added by `rejection_as_negative`
    rejection_effect: dict[str, Any] | None = None  # with it against without, when it is on

    @property
    def baseline_probabilities(self) -> dict[str, np.ndarray]:
        return candidate_baselines(self.test_probabilities)


def candidate_baselines(probabilities: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The baselines' probabilities among a run's models."""
    return {k: v for k, v in probabilities.items() if k in BASELINE_NAMES}


def _parts(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The fit, interest and combined probabilities of a scored or predicted frame."""
    return {p: frame[f"{p}_probability"].to_numpy() for p in SCORES}


def _examples(
    scorer: LeadScorer, X_test: pd.DataFrame, scored: pd.DataFrame, policy: QuadrantPolicy
) -> list[dict[str, Any]]:
    """A few test leads per quadrant, with their reason codes, for the review report."""
    picks: list[str] = []
    for quadrant in QUADRANTS:
        ids = scored.index[scored["quadrant"].to_numpy() == quadrant]
        picks.extend(ids[:EXAMPLES_PER_QUADRANT].tolist())
    if not picks:
        return []
    detailed = scorer.score_leads(X_test.loc[picks], policy, reasons=True)
    records: list[dict[str, Any]] = json.loads(
        detailed.reset_index(names="lead_id").to_json(orient="records", date_format="iso")
    )
    return records


def _fit_scorer(data: TrainingData, X_train: pd.DataFrame, y_train: np.ndarray) -> LeadScorer:
    """The scorer on these training rows, calibrated and chosen on the validation window."""
    X_val, y_val = data.fold("val")
    features = data.features
    return LeadScorer().fit(
        X_train,
        y_train,
        X_cal=X_val,
        y_cal=y_val,
        fit_columns=features.fit_columns,
        interest_columns=features.interest_columns,
        categorical_columns=features.categorical_columns,
        feature_sets=features.feature_sets,
    )


def fit_and_evaluate(
    data: TrainingData,
    *,
    policy: QuadrantPolicy | None = None,
    clock: PhaseClock | None = None,
) -> Candidate:
    """Fit on train, calibrate and propose the policy on validation (unless `policy` is
    given), score the models and baselines on the test window, and give the verdict."""
    clock = clock or PhaseClock()
    X_train, y_train = data.fold("train")
    n_extra = 0
    if data.rejection_as_negative:
        X_train, y_train, n_extra = with_rejections_as_negative(X_train, y_train, data.labels)
    X_val, y_val = data.fold("val")
    X_test, y_test = data.fold("test")
    with clock.phase("models"):
        scorer = _fit_scorer(data, X_train, y_train)
        val_parts = scorer.predict_parts(X_val)
        if policy is None:
            policy = propose_policy(
                to_score(val_parts["fit_probability"]),
                to_score(val_parts["interest_probability"]),
                y_val,
            )
    with clock.phase("baselines"):
        baselines = make_baselines()
        for baseline in baselines.values():
            baseline.fit(X_train, y_train)
    with clock.phase("evaluate"):
        scored = scorer.score_leads(X_test, policy, reasons=False)
        probs = _parts(scored)
        val_probs = _parts(val_parts)
        for name, baseline in baselines.items():
            probs[name] = baseline.predict_proba(X_test)
            val_probs[name] = baseline.predict_proba(X_val)
        if data.oracle is not None:
            probs["oracle"] = data.oracle
        test_metrics = metrics_by_model(y_test, probs)
        val_metrics = metrics_by_model(y_val, val_probs)
        examples = _examples(scorer, X_test, scored, policy)
        feedback = feedback_ranking(
            probs["combined"], sales_feedback(data.crm.outcomes, X_test.index)
        )
    effect = None
    if data.rejection_as_negative:
        with clock.phase("rejection option"):  # the same fit without it, on the same leads
            plain = _fit_scorer(data, *data.fold("train")).predict_parts(X_test)
            effect = rejection_effect(
                y_test, probs["combined"], plain["combined_probability"].to_numpy()
            )
    with clock.phase("verdict"):
        family = scorer.choices_["combined"].chosen
        others = gate_baselines(candidate_baselines(probs), family)
        verdict = verdict_for(y_test, probs["combined"], others)
    return Candidate(
        scorer=scorer,
        policy=policy,
        scored=scored,
        test_probabilities=probs,
        test_metrics=test_metrics,
        val_metrics=val_metrics,
        quadrants=quadrant_table(scored["quadrant"].to_numpy(), y_test),
        examples=examples,
        verdict=verdict,
        unseen=unseen_summary(scored["unseen_categories"].tolist(), y_test),
        feedback=feedback,
        n_rejection_extra=n_extra,
        rejection_effect=effect,
    )
