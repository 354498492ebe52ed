"""`build_features`: one frame for training and scoring, and the same row for one lead."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from features.build import FeatureFrame, build_features

T0 = pd.Timestamp("2024-03-01", tz="UTC")
MakeEvents = Callable[[list[tuple[str, str, str]]], pd.DataFrame]


def _build(leads: pd.DataFrame, events: pd.DataFrame, as_of: object) -> FeatureFrame:
    return build_features(
        leads,
        events,
        as_of,
        fit_extras={"lead_score_crm": "numeric", "segment": "categorical"},
        interest_extras=["lead_score_crm"],
    )


def test_frame_layout_default(leads: pd.DataFrame, events: pd.DataFrame) -> None:
    ff = _build(leads, events, T0)
    assert list(ff.frame.index) == list(leads["lead_id"])
    assert list(ff.frame.columns) == ff.fit_columns + ff.interest_columns
    assert "x_segment" in ff.categorical_columns and "industry" in ff.categorical_columns
    assert "x_lead_score_crm" in ff.fit_columns
    assert ff.interest_columns[-1] == "x_lead_score_crm_2"  # never collides with the fit one
    for col in ff.categorical_columns:
        assert isinstance(ff.frame[col].dtype, pd.CategoricalDtype)
    assert [fs.name for fs in ff.feature_sets] == ["fit_v1", "interest_v1"]
    assert [c for fs in ff.feature_sets for c in fs.columns] == list(ff.frame.columns)
    assert ff.feature_sets[1].params["half_life_days"] == 14.0
    assert ff.feature_sets[1].to_dict()["params"]["type_weights"]["demo_request"] > 0
    assert ff.feature_sets[0].extras == {"lead_score_crm": "numeric", "segment": "categorical"}


def test_one_lead_equals_bulk_row_each(leads: pd.DataFrame, events: pd.DataFrame) -> None:
    as_of = pd.Series(
        [T0, T0 - pd.Timedelta(days=5), T0, T0 + pd.Timedelta(days=30)], index=leads["lead_id"]
    )
    bulk = _build(leads, events, as_of).frame
    for lid in leads["lead_id"]:
        one_lead = leads[leads["lead_id"] == lid]
        one_events = events[events["lead_id"] == lid]
        one = build_features(
            one_lead,
            one_events,
            as_of[lid],
            fit_extras={"lead_score_crm": "numeric", "segment": "categorical"},
            interest_extras={"lead_score_crm": "numeric"},
        ).frame
        assert list(one.columns) == list(bulk.columns)
        for col in bulk.columns:
            got, want = one.loc[lid, col], bulk.loc[lid, col]
            assert (pd.isna(got) and pd.isna(want)) or got == want, (lid, col)


def test_leakage_post_conversion_activity_changes_nothing(
    leads: pd.DataFrame, events: pd.DataFrame, make_events: MakeEvents
) -> None:
    as_of = pd.Series([T0 - pd.Timedelta(days=d) for d in (0, 3, 1, 9)], index=leads["lead_id"])
    before = _build(leads, events, as_of).frame
    after_snapshot = make_events(
        [
            (lid, (t + pd.Timedelta(minutes=m)).isoformat(), typ)
            for lid, t in as_of.items()
            for m, typ in ((0, "demo_request"), (5, "free_trial"), (60 * 24 * 60, "pricing_page"))
        ]
    )
    after = _build(leads, pd.concat([events, after_snapshot], ignore_index=True), as_of).frame
    pd.testing.assert_frame_equal(before, after)


def test_unseen_categories_do_not_crash_single_lead(events: pd.DataFrame) -> None:
    lead = pd.DataFrame(
        {
            "lead_id": ["new"],
            "created_at": [T0],
            "industry": ["Quantum Basket Weaving"],
            "seniority": ["overlord"],
            "function": [None],
            "source": ["telepathy"],
            "is_named_account": [None],
            "segment": [None],
        }
    )
    ff = build_features(lead, events.iloc[:0], None, fit_extras={"segment": "categorical"})
    row = ff.frame.loc["new"]
    assert row["industry"] == "Quantum Basket Weaving"
    assert pd.isna(row["seniority"]) and pd.isna(row["source"])
    assert row["n_touches_total"] == 0 and np.isnan(row["days_since_last_touch"])


def test_as_of_series_missing_lead_raises(leads: pd.DataFrame, events: pd.DataFrame) -> None:
    as_of = pd.Series([T0], index=["a"])
    try:
        build_features(leads, events, as_of)
    except ValueError as err:
        assert "no snapshot" in str(err)
    else:
        raise AssertionError("expected a ValueError")


def test_absent_fields_are_missing_from_the_frame(
    leads: pd.DataFrame, events: pd.DataFrame
) -> None:
    ff = build_features(
        leads.drop(columns=["seniority", "is_named_account"]),
        events,
        T0,
        absent_fields=("seniority", "is_named_account"),
    )
    assert not {"seniority", "is_named_account"} & set(ff.frame.columns)
    assert ff.fit_columns == ff.feature_sets[0].columns
    assert list(ff.frame.columns) == ff.fit_columns + ff.interest_columns
    assert ff.feature_sets[0].absent_fields == ("is_named_account", "seniority")
