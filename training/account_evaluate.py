"""Fit the account scorer and its baselines on account rows and evaluate them: no I/O, one
result (`AccountCandidate`), as `training.fit_evaluate` does for leads.

The baselines are the account-level logistic regression and naive Bayes over the same
account columns (the points baseline reads lead fields an account row does not have); the
verdict is the lead model's (`training.verdict`), so the promotion gates judge an account
version exactly as they judge a lead version. On generated data the oracle is set beside,
with the paired DeLong difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.account_scores import (
    fit_account_scorer,
    score_accounts,
    shipped_account_policy,
    with_account_actions,
)
from models.baselines import BASELINE_NAMES, make_baselines
from models.policy import QuadrantPolicy, propose_policy, to_score
from models.scorer import SCORES, LeadScorer
from training.account_data import AccountData
from training.account_report import accounts_section
from training.evaluate import ORACLE, gate_baselines, metrics_by_model, quadrant_table
from training.phases import PhaseClock
from training.verdict import Interval, Verdict, auc_difference, verdict_for

# The baselines an account row can feed: the points baseline scores a lead's seniority.
ACCOUNT_BASELINES: tuple[str, ...] = tuple(b for b in BASELINE_NAMES if b != "baseline_points")


@dataclass(frozen=True)
class AccountCandidate:
    """A fitted account scorer with its policy, and how it and the baselines did."""

    scorer: LeadScorer
    policy: QuadrantPolicy
    scored: pd.DataFrame  # the test rows' answers (`score_accounts`)
    test_probabilities: dict[str, np.ndarray]  # per model, baseline and oracle
    test_metrics: dict[str, dict[str, float]]
    val_metrics: dict[str, dict[str, float]]
    quadrants: pd.DataFrame
    verdict: Verdict
    differences: dict[str, Interval]  # model minus each baseline and the oracle, paired DeLong
    accounts: dict[str, Any]  # the report's accounts section (`training.account_report`)

    @property
    def baseline_probabilities(self) -> dict[str, np.ndarray]:
        return {k: v for k, v in self.test_probabilities.items() if k in ACCOUNT_BASELINES}


def _parts(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {p: frame[f"{p}_probability"].to_numpy() for p in SCORES}


def _policy(
    scorer: LeadScorer, X_val: pd.DataFrame, y_val: np.ndarray, given: QuadrantPolicy | None
) -> QuadrantPolicy:
    """The given policy as it is; else thresholds proposed on validation with the shipped
    account actions."""
    if given is not None:
        return given
    parts = scorer.predict_parts(X_val)
    proposed = propose_policy(
        to_score(parts["fit_probability"]), to_score(parts["interest_probability"]), y_val
    )
    return with_account_actions(proposed, shipped_account_policy())


def fit_and_evaluate_accounts(
    data: AccountData, *, policy: QuadrantPolicy | None = None, clock: PhaseClock | None = None
) -> AccountCandidate:
    """Fit on train, calibrate and propose the policy on validation, score the model and
    baselines on the test window, and give the verdict and the accounts section."""
    clock = clock or PhaseClock()
    X_train, y_train = data.fold("train")
    X_val, y_val = data.fold("val")
    X_test, y_test = data.fold("test")
    with clock.phase("models"):
        scorer = fit_account_scorer(X_train, y_train, X_cal=X_val, y_cal=y_val)
        policy = _policy(scorer, X_val, y_val, policy)
    with clock.phase("baselines"):
        baselines = {k: b for k, b in make_baselines().items() if k in ACCOUNT_BASELINES}
        for baseline in baselines.values():
            baseline.fit(X_train, y_train)
    with clock.phase("evaluate"):
        scored = score_accounts(scorer, X_test, policy)
        probs = _parts(scored)
        val_probs = _parts(scorer.predict_parts(X_val))
        for name, baseline in baselines.items():
            probs[name] = baseline.predict_proba(X_test)
            val_probs[name] = baseline.predict_proba(X_val)
        if data.oracle is not None:
            probs[ORACLE] = data.oracle
        others = {k: v for k, v in probs.items() if k in ACCOUNT_BASELINES or k == ORACLE}
        differences = {
            name: auc_difference(y_test, probs["combined"], p) for name, p in others.items()
        }
    with clock.phase("verdict"):
        family = scorer.choices_["combined"].chosen
        judged = gate_baselines({k: probs[k] for k in ACCOUNT_BASELINES}, family)
        verdict = verdict_for(
            y_test, probs["combined"], judged, unit="account rows", ranks="accounts"
        )
    return AccountCandidate(
        scorer=scorer,
        policy=policy,
        scored=scored,
        test_probabilities=probs,
        test_metrics=metrics_by_model(y_test, probs),
        val_metrics=metrics_by_model(y_val, val_probs),
        quadrants=quadrant_table(scored["quadrant"].to_numpy(), y_test),
        verdict=verdict,
        differences=differences,
        accounts=accounts_section(
            scored["quadrant"].to_numpy(), X_test["acct_roles_covered"].to_numpy(), y_test
        ),
    )
