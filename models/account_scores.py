"""Account scores: the lead scorer's machinery (families chosen on validation, calibrated fit
and interest, quadrant policy, reasons in words) trained on account rows, plus the buying
group in a BDR's words and the roles still missing, so they know whom to reach next.

Why reuse `LeadScorer`: an account row is a row of features with a 0/1 label like a lead's;
only the columns (`account_fit_v1`, `account_interest_v1`) and the words differ, and those
come from the feature sets. A second scorer would be a second copy of calibration, policy
and reasons.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from data_contracts.vocab import BUYING_ROLE_WORDS
from features.account_sets import (
    ACCOUNT_FIT_V1,
    ACCOUNT_INTEREST_V1,
    GROUP_ROLES,
    engaged_role_column,
)
from models.mlflow_layout import ACCOUNT_POLICY_FILE
from models.policy import QuadrantPolicy
from models.scorer import LeadScorer
from models.wording import count

ACCOUNT_SETS = (ACCOUNT_FIT_V1, ACCOUNT_INTEREST_V1)
SHIPPED_ACCOUNT_POLICY = Path(__file__).resolve().parent / ACCOUNT_POLICY_FILE


def shipped_account_policy() -> QuadrantPolicy:
    """The account policy Handoff ships: what each quadrant of *accounts* asks of marketing
    and the account owner (a lead's "call within minutes" is not an account's play)."""
    return QuadrantPolicy.load(SHIPPED_ACCOUNT_POLICY)


def with_account_actions(proposed: QuadrantPolicy, actions_from: QuadrantPolicy) -> QuadrantPolicy:
    """The thresholds training proposed, with the actions of the shipped (or given) policy."""
    return proposed.model_copy(update={"actions": dict(actions_from.actions)})


def fit_account_scorer(
    X: pd.DataFrame,
    y: npt.ArrayLike,
    *,
    X_cal: pd.DataFrame,
    y_cal: npt.ArrayLike,
    random_state: int = 0,
) -> LeadScorer:
    """A scorer over the account feature sets: fit from the account, interest from its group."""
    return LeadScorer(random_state=random_state).fit(
        X,
        y,
        X_cal=X_cal,
        y_cal=y_cal,
        fit_columns=ACCOUNT_FIT_V1.columns,
        interest_columns=ACCOUNT_INTEREST_V1.columns,
        categorical_columns=ACCOUNT_FIT_V1.categorical_columns,
        feature_sets=list(ACCOUNT_SETS),
    )


def missing_roles(frame: pd.DataFrame) -> list[list[str]]:
    """Per row: the buying-group roles with no engaged contact, as words, in `GROUP_ROLES`
    order (the decision maker first)."""
    engaged = np.column_stack([frame[engaged_role_column(r)].to_numpy() for r in GROUP_ROLES])
    words = [BUYING_ROLE_WORDS[r] for r in GROUP_ROLES]
    return [[w for w, n in zip(words, row, strict=True) if n == 0] for row in engaged]


def group_sentence(engaged_contacts: int, missing: list[str]) -> str:
    """The buying group in one line: "3 engaged contacts, no decision maker yet"."""
    head = count(engaged_contacts, "engaged contact", "engaged contacts")
    if not missing:
        return f"{head}, every buying role engaged"
    roles = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} or {missing[-1]}"
    return f"{head}, no {roles} yet"


def score_accounts(
    scorer: LeadScorer, X: pd.DataFrame, policy: QuadrantPolicy, *, top_k: int = 3
) -> pd.DataFrame:
    """The scorer's answer per account row (scores, quadrant, action, reasons) with the
    buying group said (`group_text`) and the roles to reach next (`missing_roles`)."""
    out = scorer.score_leads(X, policy, top_k=top_k)
    missing = missing_roles(X)
    out["missing_roles"] = [", ".join(m) for m in missing]
    out["group_text"] = [
        group_sentence(int(n), m)
        for n, m in zip(X["acct_engaged_contacts"].to_numpy(), missing, strict=True)
    ]
    return out
