"""cross_table.py: each rule flags exactly the rows that break it."""

from __future__ import annotations

import pandas as pd
import pytest

from data_contracts import cross_table


def _ts(*values: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values), utc=True)).astype("datetime64[us, UTC]")


@pytest.fixture
def leads() -> pd.DataFrame:
    return pd.DataFrame({"lead_id": ["a", "b"], "created_at": _ts("2024-01-01", "2024-01-01")})


def _outcomes(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["lead_id", "stage", "occurred_at"])
    frame["occurred_at"] = _ts(*frame["occurred_at"])
    frame["reject_reason"] = None
    frame["meeting_rating"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    return frame


def test_orphans_unknown_lead_flagged() -> None:
    events = pd.DataFrame({"lead_id": ["a", "zz", None]})
    found = cross_table.orphans(events, "events", ["a", "b"], "event")
    assert found["row"].tolist() == [1]
    assert found["check"].iloc[0] == "event for unknown lead"


def test_won_and_lost_both_rows_flagged() -> None:
    out = _outcomes(
        [
            ("a", "closed_won", "2024-02-01"),
            ("a", "closed_lost", "2024-02-02"),
            ("b", "closed_won", "2024-02-01"),
        ]
    )
    assert cross_table.won_and_lost(out)["row"].tolist() == [0, 1]


def test_stages_backwards_pair_flagged() -> None:
    out = _outcomes(
        [
            ("a", "mql", "2024-01-05"),
            ("a", "opportunity", "2024-01-03"),
            ("a", "closed_won", "2024-01-09"),
            ("b", "sales_accepted", "2024-01-02"),
            ("b", "sales_rejected", "2024-01-01"),  # same rank: alternatives, not ordered
        ]
    )
    found = cross_table.stages_backwards(out)
    assert sorted(found["row"]) == [0, 1]
    assert set(found["check"]) == {"stage time runs backwards"}


def test_stages_backwards_in_order_passes() -> None:
    out = _outcomes([("a", "mql", "2024-01-01"), ("a", "closed_lost", "2024-03-01")])
    assert cross_table.stages_backwards(out).empty


def test_outcome_before_created_flagged(leads: pd.DataFrame) -> None:
    out = _outcomes([("a", "mql", "2023-12-31"), ("b", "mql", "2024-01-02")])
    assert cross_table.outcome_before_created(leads, out)["row"].tolist() == [0]


def test_reject_reason_only_on_sales_rejected() -> None:
    out = _outcomes([("a", "sales_rejected", "2024-01-02"), ("b", "mql", "2024-01-02")])
    out["reject_reason"] = ["no_budget", "no_need"]
    assert cross_table.reject_reason_misplaced(out)["row"].tolist() == [1]


def test_meeting_rating_only_on_rated_stages() -> None:
    out = _outcomes([("a", "meeting_set", "2024-01-02"), ("b", "closed_won", "2024-01-02")])
    out["meeting_rating"] = pd.array([4, 5], dtype="Int64")
    assert cross_table.rating_misplaced(out)["row"].tolist() == [1]


def test_duplicate_stage_rows_flagged() -> None:
    out = _outcomes(
        [("a", "mql", "2024-01-02"), ("a", "mql", "2024-01-03"), ("b", "mql", "2024-01-02")]
    )
    assert cross_table.duplicate_stages(out)["row"].tolist() == [0, 1]


def test_cross_table_failures_clean_data_empty(leads: pd.DataFrame) -> None:
    out = _outcomes([("a", "mql", "2024-01-02"), ("a", "closed_won", "2024-02-01")])
    events = pd.DataFrame({"lead_id": ["a", "b"]})
    found = cross_table.cross_table_failures(leads, events, out)
    assert found.empty
    assert list(found.columns) == list(cross_table.FAILURE_COLUMNS)


def _accounts(**columns: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "account_id": ["A1", "A2", "A3"],
        "name": ["Acme Inc.", "Globex", None],
        "domain": ["acme.com", " WWW.Acme.com", None],
        "parent_account_id": [None, None, "A1"],
    }
    return pd.DataFrame({**base, **columns})


def test_duplicate_domains_all_copies_flagged_missing_ignored() -> None:
    found = cross_table.duplicate_domains(_accounts())
    assert found["row"].tolist() == [0, 1]
    assert set(found["check"]) == {"duplicate domain"}


def test_unknown_parents_flagged() -> None:
    found = cross_table.unknown_parents(_accounts(parent_account_id=[None, "A9", "A1"]))
    assert found["row"].tolist() == [1]
    assert found["check"].iloc[0] == "parent_account_id for unknown account"


def test_company_disagrees_prefix_agrees_other_name_flagged() -> None:
    leads = pd.DataFrame(
        {
            "account_id": ["A1", "A1", "A1", "A2", "A3", None],
            "company": ["ACME", "acme inc", "Globex", None, "Anything", "Other"],
        }
    )
    found = cross_table.company_disagrees(leads, _accounts())
    assert found["row"].tolist() == [2]  # A3 has no name: nothing to disagree with


def test_lead_account_failures_unknown_and_quarantined_told_apart() -> None:
    leads = pd.DataFrame({"account_id": ["A1", "A2", "A9", None], "company": None})
    found = cross_table.lead_account_failures(leads, _accounts().iloc[:1], ["A2"])
    assert dict(zip(found["row"], found["check"], strict=True)) == {
        1: "account quarantined",
        2: "lead for unknown account",
    }
