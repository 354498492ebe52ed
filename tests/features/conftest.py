"""Small hand-built CRM frames for the feature tests."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest


def utc(values: list[str]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True, format="ISO8601")).dt.as_unit("us")


def _make_events(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Events from (lead_id, occurred_at, type) triples."""
    return pd.DataFrame(
        {
            "lead_id": pd.Series([r[0] for r in rows], dtype="str"),
            "occurred_at": utc([r[1] for r in rows]),
            "type": pd.Series([r[2] for r in rows], dtype="str"),
            "channel": pd.Series([None] * len(rows), dtype="str"),
            "campaign": pd.Series([None] * len(rows), dtype="str"),
        }
    )


@pytest.fixture(scope="session")
def make_events() -> Callable[[list[tuple[str, str, str]]], pd.DataFrame]:
    """Build an events frame from (lead_id, occurred_at, type) triples."""
    return _make_events


@pytest.fixture(scope="module")
def leads() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": pd.Series(["a", "b", "c", "d"], dtype="str"),
            "created_at": utc(["2024-01-01", "2024-01-15", "2024-02-01", "2024-02-10"]),
            "email": ["ann@acme.io", "bob@Gmail.com", None, "no-at-sign"],
            "company": ["Acme", None, "Initech", "Globex"],
            "phone": ["+49 1", None, " ", None],
            "mobile": [None, "+1 2", None, None],
            "industry": ["Software", " Retail ", None, "Software"],
            "employees": pd.array([250, None, 1, 12000], dtype="Int64"),
            "annual_revenue": [2.5e7, None, 0.0, 1e9],
            "country": ["DE", "US", "US", None],
            "title": ["Head of Marketing", "CEO", "Vice President Sales", None],
            "seniority": ["director", "c_level", "vp", "ic"],
            "function": ["marketing", "executive", "sales", "it"],
            "source": ["webinar", "inbound_form", "paid", "partner"],
            "is_named_account": [True, False, False, True],
            "lead_score_crm": [10.0, 55.0, None, 3.0],
            "segment": ["smb", "ent", None, "smb"],
        }
    )


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return _make_events(
        [
            ("a", "2024-02-28", "pricing_page"),
            ("a", "2024-02-20", "web_visit"),
            ("a", "2024-01-15", "email_open"),
            ("a", "2023-10-01", "webinar_attended"),
            ("b", "2024-02-25", "demo_request"),
            ("b", "2024-02-26", "unsubscribe"),
            ("c", "2024-02-29 12:00", "web_visit"),
            ("zz", "2024-02-01", "web_visit"),  # a lead we do not score
        ]
    )
