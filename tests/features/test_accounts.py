"""accounts.py: account fit and buying-group interest, each lead seen as of its own snapshot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.account_sets import ACCOUNT_FIT_V1, ACCOUNT_INTEREST_V1
from features.accounts import account_features
from features.feature_sets import DEFAULT_HALF_LIFE_DAYS
from features.interest import interest_features, weights

T0 = pd.Timestamp("2025-03-01", tz="UTC")


def _day(d: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=d)


@pytest.fixture
def accounts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "employees": pd.array([1000, None], dtype="Int64"),
            "annual_revenue": [1e6, None],
            "is_named_account": [True, False],
            "abm_tier": ["tier_1", None],
            "parent_account_id": [None, "A1"],
        }
    )


@pytest.fixture
def leads() -> pd.DataFrame:
    """Three contacts at A1 (a VP, a finance manager, an engineer), one at A2, one alone."""
    return pd.DataFrame(
        {
            "lead_id": ["vp", "fin", "eng", "solo2", "alone"],
            "account_id": ["A1", "A1", "A1", "A2", None],
            "created_at": [_day(0), _day(1), _day(50), _day(0), _day(0)],
            "seniority": ["vp", "manager", "ic", "director", "vp"],
            "function": ["sales", "finance", "engineering", "it", "sales"],
        }
    )


@pytest.fixture
def events() -> pd.DataFrame:
    rows = [
        ("vp", 2, "web_visit"),
        ("fin", 10, "pricing_page"),
        ("fin", 100, "web_visit"),  # after every snapshot but eng's: seen by eng only
        ("eng", 60, "email_open"),
        ("alone", 5, "demo_request"),
        ("solo2", 20, "unsubscribe"),  # not an engagement touch
    ]
    frame = pd.DataFrame(rows, columns=["lead_id", "day", "type"])
    frame["occurred_at"] = [_day(d) for d in frame.pop("day")]
    return frame


def _features(leads, events, accounts, as_of):  # type: ignore[no-untyped-def]
    return account_features(leads, events, accounts, as_of)


def test_account_features_declared_columns_in_order(leads, events, accounts) -> None:  # type: ignore[no-untyped-def]
    frame = _features(leads, events, accounts, _day(30))
    assert list(frame.columns) == ACCOUNT_FIT_V1.columns + ACCOUNT_INTEREST_V1.columns
    assert frame.index.tolist() == leads["lead_id"].tolist()


def test_account_fit_from_the_accounts_table(leads, events, accounts) -> None:  # type: ignore[no-untyped-def]
    f = _features(leads, events, accounts, _day(30))
    assert f.loc["vp", "acct_log_employees"] == pytest.approx(3.0)
    assert f.loc["fin", "acct_abm_tier"] == "tier_1"
    assert f.loc["solo2", "acct_abm_tier"] == "none"
    assert pd.isna(f.loc["alone", "acct_abm_tier"])
    assert f["acct_is_named"].tolist() == [1, 1, 1, 0, 0]
    assert f["acct_is_business_unit"].tolist() == [0, 0, 0, 1, 0]
    assert f["acct_known"].tolist() == [1, 1, 1, 1, 0]
    assert np.isnan(f.loc["solo2", "acct_log_employees"])


def test_account_interest_counts_only_what_was_known_at_each_snapshot(  # type: ignore[no-untyped-def]
    leads, events, accounts
) -> None:
    as_of = pd.Series([_day(30), _day(30), _day(120), _day(30), _day(30)], index=leads["lead_id"])
    f = _features(leads, events, accounts, as_of)
    # At day 30 the account has the VP and the finance manager; both touched within 90 days.
    assert f.loc["vp", "acct_contacts"] == 2
    assert f.loc["vp", "acct_engaged_contacts"] == 2
    assert f.loc["vp", "acct_engaged_decision_makers"] == 1
    assert f.loc["vp", "acct_engaged_buyers"] == 1
    assert f.loc["vp", "acct_roles_covered"] == 2
    assert f.loc["vp", "acct_days_since_last_high_intent"] == pytest.approx(20.0)
    # At day 120: three contacts; the VP's day-2 touch is over 90 days old, fin touched at
    # day 100, eng at day 60 (a user).
    assert f.loc["eng", "acct_contacts"] == 3
    assert f.loc["eng", "acct_engaged_contacts"] == 2
    assert f.loc["eng", "acct_engaged_decision_makers"] == 0
    assert f.loc["eng", "acct_engaged_users"] == 1
    assert f.loc["eng", "acct_roles_covered"] == 2
    assert f.loc["eng", "acct_days_since_last_high_intent"] == pytest.approx(110.0)
    # A2's only contact unsubscribed: no engagement. The lead alone has no account part.
    assert f.loc["solo2", "acct_engaged_contacts"] == 0
    assert f.loc["alone", "acct_engagement_decayed"] == 0.0
    assert np.isnan(f.loc["alone", "acct_days_since_last_high_intent"])


def test_account_engagement_is_the_sum_of_its_contacts_engagement(  # type: ignore[no-untyped-def]
    leads, events, accounts
) -> None:
    """At one snapshot, the account's decayed engagement is its contacts' summed."""
    as_of = _day(130)
    mine = interest_features(events, as_of, leads=leads)["engagement_decayed"]
    f = _features(leads, events, accounts, as_of)
    expected = mine[["vp", "fin", "eng"]].sum()
    assert f.loc["vp", "acct_engagement_decayed"] == pytest.approx(expected, rel=1e-6)
    assert f.loc["eng", "acct_engagement_decayed"] == pytest.approx(expected, rel=1e-6)


def test_account_event_exactly_at_as_of_excluded(leads, events, accounts) -> None:  # type: ignore[no-untyped-def]
    f = _features(leads, events, accounts, _day(10))  # fin's pricing page is at day 10
    assert f.loc["vp", "acct_days_since_last_high_intent"] != 0.0
    assert np.isnan(f.loc["vp", "acct_days_since_last_high_intent"])


def test_account_engagement_exact_over_many_accounts_and_long_spans() -> None:
    """The log-space running sum keeps accounts apart: a sparse account after a busy one
    gets its own small sum, not noise left over from the other."""
    rng = np.random.default_rng(0)
    n_busy = 5000
    leads = pd.DataFrame(
        {
            "lead_id": ["busy", "quiet"],
            "account_id": ["A0", "A1"],
            "created_at": [_day(0), _day(0)],
        }
    )
    busy_days = rng.uniform(0, 700, n_busy)
    events = pd.DataFrame(
        {
            "lead_id": ["busy"] * n_busy + ["quiet"],
            "type": "contact_us",
            "occurred_at": [_day(d) for d in busy_days] + [_day(1)],
        }
    )
    accounts = pd.DataFrame({"account_id": ["A0", "A1"], "is_named_account": [False, False]})
    f = account_features(leads, events, accounts, _day(730))
    expected_quiet = 5.0 * 2 ** (-729 / 14)
    assert f.loc["quiet", "acct_engagement_decayed"] == pytest.approx(expected_quiet, rel=1e-6)
    expected_busy = (5.0 * 2 ** (-(730 - busy_days) / 14)).sum()
    assert f.loc["busy", "acct_engagement_decayed"] == pytest.approx(expected_busy, rel=1e-6)


def test_account_features_without_accounts_table_score_leads_alone(leads, events) -> None:  # type: ignore[no-untyped-def]
    f = account_features(leads, events, None, _day(30))
    assert (f["acct_known"] == 0).all()
    assert (f["acct_engaged_contacts"] == 0).all()


def _brute_max_contact(leads, events, as_of) -> pd.Series:  # type: ignore[no-untyped-def]
    """Per lead: the largest decayed engagement of any one contact of its account, every
    contact and event looked at one by one (events strictly before the lead's as_of)."""
    w = weights()
    out = {}
    for q in leads.itertuples():
        best = 0.0
        if isinstance(q.account_id, str):
            for c in leads.loc[leads["account_id"] == q.account_id, "lead_id"]:
                score = 0.0
                for e in events.loc[events["lead_id"] == c].itertuples():
                    age = (as_of[q.lead_id] - e.occurred_at) / pd.Timedelta(days=1)
                    if age > 0 and w[e.type] > 0:
                        score += w[e.type] * 2 ** (-age / DEFAULT_HALF_LIFE_DAYS)
                best = max(best, score)
        out[q.lead_id] = best
    return pd.Series(out)


def test_account_max_contact_engagement_matches_brute_force_with_strict_as_of() -> None:
    rng = np.random.default_rng(3)
    n = 24
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n)],
            "account_id": [f"A{k}" if k < 4 else None for k in rng.integers(0, 5, n)],
            "created_at": [_day(0)] * n,
        }
    )
    types = ["web_visit", "pricing_page", "demo_request", "email_open", "unsubscribe"]
    events = pd.DataFrame(
        {
            "lead_id": rng.choice(leads["lead_id"], 150),
            "type": rng.choice(types, 150),
            "occurred_at": [_day(int(d)) for d in rng.integers(0, 60, 150)],
        }
    )
    as_of = pd.Series([_day(int(d)) for d in rng.integers(10, 60, n)], index=leads["lead_id"])
    # The cut-off is exercised: some events sit exactly at an as_of of their account.
    account_of = leads.set_index("lead_id")["account_id"]
    same_time = events.assign(account=account_of.reindex(events["lead_id"]).to_numpy()).merge(
        pd.DataFrame({"account": account_of.to_numpy(), "at": as_of.to_numpy()}), on="account"
    )
    assert (same_time["occurred_at"] == same_time["at"]).any()
    f = account_features(leads, events, _plain_accounts(), as_of)
    expected = _brute_max_contact(leads, events, as_of)
    got = f["acct_engagement_max_contact"]
    np.testing.assert_allclose(got.to_numpy(), expected.reindex(got.index).to_numpy(), rtol=1e-9)
    assert (got > 0).any() and (got == 0).any()
    # The best contact never beats the whole account.
    assert (got <= f["acct_engagement_decayed"] * (1 + 1e-9)).all()


def _plain_accounts() -> pd.DataFrame:
    return pd.DataFrame({"account_id": [f"A{k}" for k in range(4)], "is_named_account": False})


def test_account_max_contact_is_one_contact_not_the_sum(leads, events, accounts) -> None:  # type: ignore[no-untyped-def]
    as_of = _day(130)
    mine = interest_features(events, as_of, leads=leads)["engagement_decayed"]
    f = _features(leads, events, accounts, as_of)
    assert f.loc["vp", "acct_engagement_max_contact"] == pytest.approx(
        mine[["vp", "fin", "eng"]].max(), rel=1e-6
    )
    assert f.loc["alone", "acct_engagement_max_contact"] == 0.0


def _brute_interest(leads, events, as_of) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Every account interest column per lead, contact by contact and touch by touch: a
    contact counts once created before the lead's as_of, and a touch once known before it,
    from max(its time, its contact's creation) (a touch logged before its contact existed
    is back-filled: nobody knew of it until then)."""
    from data_contracts.vocab import BUYING_ROLES, ENGAGED_DAYS, HIGH_INTENT_EVENT_TYPES
    from features.account_sets import GROUP_ROLES, engaged_role_column
    from features.feature_sets import ENGAGEMENT_TYPES
    from features.roles import RolePolicy

    w = weights()
    role = RolePolicy().assign(leads)
    created = leads.set_index("lead_id")["created_at"]
    rows = {}
    for q in leads.itertuples():
        t_q = as_of[q.lead_id]
        row = dict.fromkeys([c for c in ACCOUNT_INTEREST_V1.columns], 0.0)
        row["acct_days_since_last_high_intent"] = np.nan
        if not isinstance(q.account_id, str):
            rows[q.lead_id] = row
            continue
        mates = leads.loc[leads["account_id"] == q.account_id, "lead_id"]
        latest = None
        engaged = dict.fromkeys(BUYING_ROLES, 0)
        for c in mates:
            row["acct_contacts"] += created[c] < t_q
            score, is_engaged = 0.0, False
            for e in events.loc[events["lead_id"] == c].itertuples():
                if max(e.occurred_at, created[c]) >= t_q:
                    continue  # not known at the snapshot
                age = (t_q - e.occurred_at) / pd.Timedelta(days=1)
                score += w[e.type] * 2 ** (-age / DEFAULT_HALF_LIFE_DAYS)
                is_engaged |= e.type in ENGAGEMENT_TYPES and age <= ENGAGED_DAYS
                if e.type in HIGH_INTENT_EVENT_TYPES:
                    latest = e.occurred_at if latest is None else max(latest, e.occurred_at)
            row["acct_engagement_decayed"] += score
            row["acct_engagement_max_contact"] = max(row["acct_engagement_max_contact"], score)
            engaged[role[c]] += is_engaged
        row["acct_engaged_contacts"] = sum(engaged.values())
        for r in GROUP_ROLES:
            row[engaged_role_column(r)] = engaged[r]
        row["acct_roles_covered"] = sum(engaged[r] > 0 for r in GROUP_ROLES)
        if latest is not None:
            row["acct_days_since_last_high_intent"] = (t_q - latest) / pd.Timedelta(days=1)
        rows[q.lead_id] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def test_account_interest_sees_backfilled_touches_only_once_their_contact_exists() -> None:
    """Colleagues created at different times, with touches before and after their creation,
    snapshots between: every interest column matches the touch-by-touch reference."""
    from data_contracts.vocab import FUNCTIONS, SENIORITIES

    rng = np.random.default_rng(8)
    n = 30
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n)],
            "account_id": [f"A{k}" if k < 4 else None for k in rng.integers(0, 5, n)],
            "created_at": [_day(int(d)) for d in rng.integers(0, 120, n)],
            "seniority": rng.choice(SENIORITIES, n),
            "function": rng.choice(FUNCTIONS, n),
        }
    )
    types = ["web_visit", "pricing_page", "demo_request", "email_open", "unsubscribe"]
    events = pd.DataFrame(
        {
            "lead_id": rng.choice(leads["lead_id"], 300),
            "type": rng.choice(types, 300),
            "occurred_at": [_day(int(d)) for d in rng.integers(0, 150, 300)],
        }
    )
    born = leads.set_index("lead_id")["created_at"].reindex(events["lead_id"]).to_numpy()
    assert (events["occurred_at"].to_numpy() < born).sum() > 50  # many back-filled touches
    as_of = pd.Series([_day(int(d)) for d in rng.integers(30, 160, n)], index=leads["lead_id"])
    got = account_features(leads, events, _plain_accounts(), as_of)
    expected = _brute_interest(leads, events, as_of).reindex(got.index)
    for col in ACCOUNT_INTEREST_V1.columns:
        np.testing.assert_allclose(
            got[col].to_numpy(dtype=float),
            expected[col].to_numpy(dtype=float),
            rtol=1e-9,
            err_msg=col,
        )
    assert (got["acct_engaged_contacts"] > 0).any()
