"""Labels with a horizon, censoring of undecided leads, and the MQL snapshot."""

from __future__ import annotations

import pandas as pd
import pytest

from features.labels import make_labels

END = pd.Timestamp("2024-12-31", tz="UTC")


def utc(values: list[str]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True, format="ISO8601")).dt.as_unit("us")


@pytest.fixture(scope="module")
def labelled() -> pd.DataFrame:
    leads = pd.DataFrame(
        {
            "lead_id": ["won_in", "won_late", "lost", "open_recent", "open_old", "rejected", "mql"],
            "created_at": utc(
                [
                    "2024-01-01",
                    "2024-01-01",
                    "2024-01-01",
                    "2024-10-01",
                    "2024-01-01",
                    "2024-01-01",
                    "2024-01-01",
                ]
            ),
        }
    )
    outcomes = pd.DataFrame(
        {
            "lead_id": ["won_in", "won_late", "lost", "rejected", "mql", "mql", "ghost"],
            "stage": [
                "closed_won",
                "closed_won",
                "closed_lost",
                "sales_rejected",
                "mql",
                "closed_won",
                "closed_won",
            ],
            "occurred_at": utc(
                [
                    "2024-03-01",
                    "2024-09-01",  # 244 days after creation: beyond 180
                    "2024-02-01",
                    "2024-01-20",
                    "2024-06-01",
                    "2024-11-01",  # 153 days after the MQL, 305 after creation
                    "2024-01-01",
                ]
            ),
        }
    )
    return make_labels(leads, outcomes, horizon_days=180, data_end=END)


def test_index_and_columns_in_lead_order(labelled: pd.DataFrame) -> None:
    assert labelled.index.name == "lead_id"
    assert labelled.index[0] == "won_in"
    assert {"snapshot_at", "label", "censored", "won_at", "closed_at", "terminal_stage"} <= set(
        labelled.columns
    )
    assert str(labelled["label"].dtype) == "Int8"
    assert str(labelled["snapshot_at"].dtype) == "datetime64[us, UTC]"


def test_win_within_horizon_is_one(labelled: pd.DataFrame) -> None:
    assert labelled.loc["won_in", "label"] == 1
    assert labelled.loc["won_in", "terminal_stage"] == "closed_won"


def test_win_after_horizon_is_zero_not_censored(labelled: pd.DataFrame) -> None:
    assert labelled.loc["won_late", "label"] == 0
    assert not labelled.loc["won_late", "censored"]
    assert labelled.loc["won_late", "won_at"] == pd.Timestamp("2024-09-01", tz="UTC")


def test_lost_and_rejected_are_zero(labelled: pd.DataFrame) -> None:
    assert labelled.loc["lost", "label"] == 0
    assert labelled.loc["rejected", "label"] == 0
    assert labelled.loc["rejected", "terminal_stage"] == "sales_rejected"
    assert labelled.loc["rejected", "closed_at"] == pd.Timestamp("2024-01-20", tz="UTC")


def test_censoring_open_lead_horizon_not_elapsed(labelled: pd.DataFrame) -> None:
    assert labelled.loc["open_recent", "censored"]
    assert pd.isna(labelled.loc["open_recent", "label"])
    assert pd.isna(labelled.loc["open_recent", "closed_at"])


def test_censoring_open_lead_horizon_elapsed_is_zero(labelled: pd.DataFrame) -> None:
    assert not labelled.loc["open_old", "censored"]
    assert labelled.loc["open_old", "label"] == 0


def test_snapshot_uses_mql_time_when_present(labelled: pd.DataFrame) -> None:
    assert labelled.loc["mql", "snapshot_at"] == pd.Timestamp("2024-06-01", tz="UTC")
    assert labelled.loc["won_in", "snapshot_at"] == pd.Timestamp("2024-01-01", tz="UTC")
    assert labelled.loc["mql", "label"] == 1  # within 180 days of the MQL, not of creation


def test_horizon_boundary_inclusive_and_win_at_snapshot_excluded() -> None:
    leads = pd.DataFrame({"lead_id": ["edge", "same"], "created_at": utc(["2024-01-01"] * 2)})
    outcomes = pd.DataFrame(
        {
            "lead_id": ["edge", "same"],
            "stage": ["closed_won", "closed_won"],
            "occurred_at": utc(["2024-01-31", "2024-01-01"]),
        }
    )
    out = make_labels(leads, outcomes, horizon_days=30, data_end=END)
    assert out.loc["edge", "label"] == 1  # won_at == snapshot + horizon
    assert out.loc["same", "label"] == 0  # snapshot < won_at is strict


def test_no_outcomes_all_censored_or_zero() -> None:
    leads = pd.DataFrame(
        {"lead_id": ["new", "old"], "created_at": utc(["2024-12-01", "2023-01-01"])}
    )
    empty = pd.DataFrame(
        {"lead_id": pd.Series(dtype="str"), "stage": pd.Series(dtype="str"), "occurred_at": utc([])}
    )
    out = make_labels(leads, empty, data_end=END)
    assert out["censored"].tolist() == [True, False]
    assert out.loc["old", "label"] == 0


def test_labels_censor_closed_leads_inside_an_unelapsed_horizon() -> None:
    """Complete cohorts only: a fast win in the last horizon is not kept while its open
    neighbours are censored, or recent cohorts would look better than they are."""
    leads = pd.DataFrame(
        {
            "lead_id": ["fast_win", "fast_loss", "still_open"],
            "created_at": utc(["2024-11-01", "2024-11-01", "2024-11-01"]),
        }
    )
    outcomes = pd.DataFrame(
        {
            "lead_id": ["fast_win", "fast_loss"],
            "stage": ["closed_won", "closed_lost"],
            "occurred_at": utc(["2024-11-20", "2024-11-25"]),
        }
    )
    labels = make_labels(leads, outcomes, horizon_days=180, data_end=END)
    assert labels["censored"].all()
    assert labels["label"].isna().all()
    assert labels["open"].tolist() == [False, False, True]


def test_labels_open_flag_marks_undecided_leads(labelled: pd.DataFrame) -> None:
    assert bool(labelled.loc["open_old", "open"]) and bool(labelled.loc["open_recent", "open"])
    assert not labelled.loc["won_in", "open"] and not labelled.loc["lost", "open"]
