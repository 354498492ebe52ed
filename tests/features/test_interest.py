"""Point-in-time interest features: windows, decay, recency, and no leakage."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts.vocab import EVENT_TYPES
from features.feature_sets import INTEREST_V1
from features.interest import interest_features

T0 = pd.Timestamp("2024-03-01", tz="UTC")
MakeEvents = Callable[[list[tuple[str, str, str]]], pd.DataFrame]


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_columns_match_declared_set_default(events: pd.DataFrame) -> None:
    out = interest_features(events, T0)
    assert list(out.columns) == INTEREST_V1.columns
    for spec in INTEREST_V1.features:
        assert str(out[spec.name].dtype) == spec.dtype, spec.name


def test_windows_count_hand_computed(events: pd.DataFrame) -> None:
    out = interest_features(events, T0).loc["a"]
    # a: pricing 2 days before (leap year), web 10, email_open 46, webinar 152.
    assert out["n_touches_7d"] == 1
    assert out["n_touches_30d"] == 2
    assert out["n_touches_90d"] == 3
    assert out["n_touches_total"] == 4
    assert out["n_pricing_page_7d"] == 1
    assert out["n_high_intent_30d"] == 1
    assert out["n_web_visit_30d"] == 1
    assert out["n_email_open_90d"] == 1
    assert out["n_webinar_attended_90d"] == 0
    assert out["n_types_90d"] == 3
    assert out["days_since_last_touch"] == pytest.approx(2.0)
    assert out["days_since_first_touch"] == pytest.approx((T0 - ts("2023-10-01")).days)
    assert out["days_since_last_high_intent"] == pytest.approx(2.0)


def test_window_edge_inclusive_at_exactly_seven_days(make_events: MakeEvents) -> None:
    ev = make_events([("a", "2024-02-23", "web_visit"), ("a", "2024-02-22 23:59", "web_visit")])
    out = interest_features(ev, T0).loc["a"]
    assert out["n_touches_7d"] == 1  # as_of - 7 days <= occurred_at
    assert out["n_touches_30d"] == 2


def test_event_exactly_at_as_of_excluded(make_events: MakeEvents) -> None:
    ev = make_events([("a", "2024-03-01", "demo_request")])
    out = interest_features(ev, T0).loc["a"]
    assert out["n_touches_total"] == 0
    assert np.isnan(out["days_since_last_touch"])
    assert out["engagement_decayed"] == 0.0


def test_decay_halves_at_half_life_default(make_events: MakeEvents) -> None:
    ev = make_events([("a", "2024-02-16", "web_visit"), ("b", "2024-03-01 00:00:01", "web_visit")])
    as_of = pd.Series([T0, T0 + pd.Timedelta(days=14)], index=["a", "b"])
    out = interest_features(ev, as_of)
    # a's visit is 14 days old at T0 (half), b's was seen 14 days after it happened too.
    assert out.loc["a", "engagement_decayed"] == pytest.approx(0.5)
    fresh = interest_features(ev, T0 + pd.Timedelta(seconds=2)).loc["b", "engagement_decayed"]
    assert fresh == pytest.approx(1.0, abs=1e-5)


def test_decay_halves_at_half_life_custom_and_weights(make_events: MakeEvents) -> None:
    ev = make_events([("a", "2024-02-24", "pricing_page")])
    out = interest_features(ev, T0, half_life_days=6.0, type_weights={"pricing_page": 4.0})
    assert out.loc["a", "engagement_decayed"] == pytest.approx(2.0)
    assert out.loc["a", "high_intent_decayed"] == pytest.approx(0.5)


def test_no_events_zeros_and_nan_recency(leads: pd.DataFrame, make_events: MakeEvents) -> None:
    empty = make_events([])
    out = interest_features(empty, T0, leads=leads)
    assert list(out.index) == list(leads["lead_id"])
    counts = [c for c in out.columns if c.startswith("n_")]
    assert (out[counts] == 0).all().all()
    assert out["days_since_last_touch"].isna().all()
    assert (out["velocity_7d"] == 0).all()
    assert (out["unsubscribed"] == 0).all()


def test_unsubscribe_flag_not_a_touch(events: pd.DataFrame) -> None:
    out = interest_features(events, T0).loc["b"]
    assert out["unsubscribed"] == 1
    assert out["n_touches_total"] == 1  # the demo request only


def test_velocity_sign_accelerating_and_cooling(make_events: MakeEvents) -> None:
    ev = make_events(
        [("hot", "2024-02-28", "web_visit"), ("hot", "2024-02-27", "web_visit")]
        + [("cold", f"2024-02-{d:02d}", "web_visit") for d in (1, 5, 10, 15, 20)]
    )
    out = interest_features(ev, T0)
    assert out.loc["hot", "velocity_7d"] > 0
    assert out.loc["cold", "velocity_7d"] < 0


def test_unknown_event_type_and_lead_ignored(make_events: MakeEvents) -> None:
    ev = make_events([("a", "2024-02-28", "carrier_pigeon"), ("a", "2024-02-27", "web_visit")])
    out = interest_features(ev, pd.Series([T0], index=["a"]))
    assert out.loc["a", "n_touches_total"] == 1


def test_leakage_appending_later_events_changes_nothing(
    leads: pd.DataFrame, events: pd.DataFrame, make_events: MakeEvents
) -> None:
    as_of = pd.Series([ts("2024-02-26"), T0, ts("2024-02-15"), T0], index=leads["lead_id"])
    before = interest_features(events, as_of, leads=leads)
    later = make_events(
        [
            (lid, str(t + pd.Timedelta(hours=h)), typ)
            for lid, t in as_of.items()
            for h, typ in ((0, "demo_request"), (1, "pricing_page"), (24 * 40, "free_trial"))
        ]
    )
    after = interest_features(pd.concat([events, later], ignore_index=True), as_of, leads=leads)
    pd.testing.assert_frame_equal(before, after)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.integers(min_value=-200 * 24, max_value=200 * 24),
            st.sampled_from(EVENT_TYPES),
        ),
        max_size=40,
    ),
    st.lists(st.integers(min_value=-100 * 24, max_value=100 * 24), min_size=3, max_size=3),
)
def test_point_in_time_property_future_events_invisible(
    make_events: MakeEvents, rows: list[tuple[str, int, str]], snap_hours: list[int]
) -> None:
    """Features as of each snapshot equal those from only the strictly-earlier events."""
    ids = ["a", "b", "c"]
    as_of = pd.Series([T0 + pd.Timedelta(hours=h) for h in snap_hours], index=ids)
    ev = make_events([(lid, str(T0 + pd.Timedelta(hours=h)), typ) for lid, h, typ in rows])
    full = interest_features(ev, as_of)
    past = ev[ev["occurred_at"].to_numpy() < as_of.reindex(ev["lead_id"]).to_numpy()]
    pd.testing.assert_frame_equal(full, interest_features(past, as_of))
