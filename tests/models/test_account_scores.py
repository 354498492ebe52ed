"""account_scores.py: account rows scored with calibrated fit and interest, a quadrant, reasons
and the buying roles still missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_contracts.crm_data import read_folder
from data_contracts.synthetic import generate_to_folder
from data_contracts.vocab import QUADRANTS
from features.account_rows import account_row_features, account_rows
from models.account_scores import (
    fit_account_scorer,
    group_sentence,
    missing_roles,
    score_accounts,
)
from models.policy import QuadrantPolicy


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, np.ndarray]:
    folder = tmp_path_factory.mktemp("acct") / "crm"
    generate_to_folder(n_leads=3_000, seed=5, out_dir=folder, buying_group_effect=0.8)
    crm = read_folder(folder)
    assert crm.accounts is not None
    found = account_rows(crm.leads, crm.outcomes, crm.accounts, data_end=crm.data_end)
    labelled = found.loc[~found["censored"]].reset_index(drop=True)
    X = account_row_features(labelled, crm.leads, crm.events, crm.accounts)
    return X, labelled["label"].to_numpy(dtype=np.int64)


def test_missing_roles_names_the_roles_without_an_engaged_contact() -> None:
    frame = pd.DataFrame(
        {
            "acct_engaged_decision_makers": [0, 1],
            "acct_engaged_buyers": [2, 1],
            "acct_engaged_influencers": [0, 1],
            "acct_engaged_users": [1, 1],
        }
    )
    assert missing_roles(frame) == [["decision maker", "influencer"], []]


def test_group_sentence_says_contacts_and_missing_roles() -> None:
    assert group_sentence(3, ["decision maker"]) == "3 engaged contacts, no decision maker yet"
    assert group_sentence(1, []) == "1 engaged contact, every buying role engaged"
    assert group_sentence(0, ["decision maker", "buyer", "user"]) == (
        "0 engaged contacts, no decision maker, buyer or user yet"
    )


def test_score_accounts_calibrated_quadrants_and_reasons(
    rows: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, y = rows
    half = len(X) // 2  # rows are in cut-off order: train on the earlier half
    scorer = fit_account_scorer(X.iloc[:half], y[:half], X_cal=X.iloc[half:], y_cal=y[half:])
    scored = score_accounts(scorer, X.iloc[half:], QuadrantPolicy())
    assert set(scored["quadrant"]) <= set(QUADRANTS)
    assert scored["combined_probability"].between(0, 1).all()
    assert (scored["fit_reason_text"].str.len() > 0).all()
    none_engaged = X.iloc[half:]["acct_engaged_contacts"].to_numpy() == 0
    assert scored.loc[none_engaged, "missing_roles"].str.startswith("decision maker").all()
    assert scored["group_text"].str.contains("engaged contact").all()
