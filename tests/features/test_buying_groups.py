"""buying_groups.py: what a role policy makes of the data, as `handoff validate` shows it."""

from __future__ import annotations

import pandas as pd

from features.buying_groups import buying_groups
from features.roles import RolePolicy, RoleRule

T0 = pd.Timestamp("2025-03-01", tz="UTC")


def _frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    leads = pd.DataFrame(
        {
            "lead_id": ["vp", "fin", "eng", "late"],
            "account_id": ["A1", "A1", "A1", "A2"],
            "created_at": [T0] * 4,
            "seniority": ["vp", "manager", "ic", "director"],
            "function": ["sales", "finance", "engineering", "it"],
        }
    )
    events = pd.DataFrame(
        {
            "lead_id": ["vp", "fin", "eng", "late"],
            "type": ["web_visit", "pricing_page", "email_open", "web_visit"],
            "occurred_at": [T0 + pd.Timedelta(days=d) for d in (1, 2, 3, 10)],
        }
    )
    accounts = pd.DataFrame({"account_id": ["A1", "A2"], "is_named_account": [True, False]})
    return leads, events, accounts


def test_buying_groups_roles_and_accounts_by_roles_covered() -> None:
    leads, events, accounts = _frames()
    found = buying_groups(leads, events, accounts, T0 + pd.Timedelta(days=10))
    assert found.leads_per_role == {
        "decision_maker": 1,
        "buyer": 1,
        "influencer": 1,
        "user": 1,
        "unknown": 0,
    }
    # A1's three engaged contacts cover three roles; A2's touch is exactly at as_of: unseen.
    assert found.accounts_by_roles_covered == {0: 1, 1: 0, 2: 0, 3: 1, 4: 0}
    assert "3 of 4 roles" in found.text()


def test_buying_groups_override_policy_changes_the_roles() -> None:
    leads, events, accounts = _frames()
    everyone_decides = RolePolicy(rules=[RoleRule(role="decision_maker")])
    found = buying_groups(
        leads, events, accounts, T0 + pd.Timedelta(days=30), roles=everyone_decides
    )
    assert found.leads_per_role["decision_maker"] == 4
    assert found.accounts_by_roles_covered == {0: 0, 1: 2, 2: 0, 3: 0, 4: 0}


def test_buying_groups_without_accounts_counts_roles_only() -> None:
    leads, events, _ = _frames()
    found = buying_groups(leads, events, None, T0)
    assert found.accounts_by_roles_covered is None
    assert "Accounts" not in found.text()
