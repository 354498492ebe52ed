"""account_rows.py: one row per account and cut-off, labelled by the account's first win."""

from __future__ import annotations

import pandas as pd
import pytest

from features.account_rows import account_row_features, account_rows
from features.account_sets import ACCOUNT_FIT_V1, ACCOUNT_INTEREST_V1

T0 = pd.Timestamp("2025-01-01", tz="UTC")


def _day(d: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=d)


@pytest.fixture
def crm() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    accounts = pd.DataFrame({"account_id": ["A1", "A2", "A3"], "is_named_account": False})
    leads = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c", "d"],
            "account_id": ["A1", "A1", "A2", None],
            "created_at": [_day(0), _day(100), _day(10), _day(0)],
            "seniority": ["vp", "ic", "manager", "vp"],
            "function": ["sales", "it", "finance", "sales"],
        }
    )
    outcomes = pd.DataFrame({"lead_id": ["b"], "stage": ["closed_won"], "occurred_at": [_day(150)]})
    events = pd.DataFrame(
        {
            "lead_id": ["a", "b"],
            "type": ["web_visit", "demo_request"],
            "occurred_at": [_day(5), _day(120)],
        }
    )
    return leads, events, outcomes, accounts


def test_account_rows_label_censoring_and_stop_after_the_win(crm) -> None:  # type: ignore[no-untyped-def]
    leads, _, outcomes, accounts = crm
    rows = account_rows(leads, outcomes, accounts, data_end=_day(400), horizon_days=180)
    got = {(r.account_id, r.as_of.day_of_year, r.label, r.censored) for r in rows.itertuples()}
    # Cut-offs every 90 days from the first contact (day 0): 90, 180, 270, 360.
    assert ("A1", 91, 1, False) in got  # won at day 150, within 180 days of day 90
    assert not any(a == "A1" and d > 91 for a, d, _, _ in got)  # won: no more rows
    assert ("A2", 91, 0, False) in got  # no win, horizon over by day 400
    a2 = rows.loc[rows["account_id"] == "A2"]
    assert a2["censored"].tolist() == [False, False, True, True]  # 270 + 180 > 400
    assert a2["label"].isna().tolist() == [False, False, True, True]
    assert "A3" not in set(rows["account_id"])  # no contact: never a prospect


def test_account_row_features_seen_as_of_the_cut_off(crm) -> None:  # type: ignore[no-untyped-def]
    leads, events, outcomes, accounts = crm
    rows = account_rows(leads, outcomes, accounts, data_end=_day(400))
    frame = account_row_features(rows, leads, events, accounts)
    assert list(frame.columns) == ACCOUNT_FIT_V1.columns + ACCOUNT_INTEREST_V1.columns
    a1 = frame.loc["A1@2025-04-01"]
    assert a1["acct_contacts"] == 1  # b is created at day 100, after the day-90 cut-off
    assert a1["acct_engaged_decision_makers"] == 1  # a's touch at day 5
    assert pd.isna(a1["acct_days_since_last_high_intent"])  # b's demo request is later
