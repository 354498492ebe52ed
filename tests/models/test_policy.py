"""QuadrantPolicy: assignment at the thresholds, JSON round-trip, proposed capacity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.policy import QuadrantPolicy, propose_policy


def test_assign_at_thresholds_is_high() -> None:
    policy = QuadrantPolicy(fit_threshold=60, interest_threshold=40)
    fit = np.array([60, 59, 60, 59, 100, 0])
    interest = np.array([40, 40, 39, 39, 100, 0])
    assert policy.assign(fit, interest).tolist() == [
        "sales_now",
        "order_taker",
        "nurture",
        "group_resources",
        "sales_now",
        "group_resources",
    ]


def test_default_sales_now_is_tier1_fast() -> None:
    policy = QuadrantPolicy()
    assert policy.actions["sales_now"].tier == 1
    assert policy.actions["sales_now"].speed_to_lead_minutes < 10


def test_json_roundtrip_identical(tmp_path: Path) -> None:
    policy = QuadrantPolicy(fit_threshold=55, interest_threshold=35, rationale="x")
    loaded = QuadrantPolicy.load(policy.save(tmp_path / "policy.json"))
    assert loaded == policy


def test_unknown_field_rejected() -> None:
    with pytest.raises(ValueError):
        QuadrantPolicy.model_validate({"fit_threshold": 50, "bogus": 1})


@pytest.fixture(scope="module")
def validation_scores() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 5000
    fit = rng.integers(0, 101, n)
    interest = rng.integers(0, 101, n)
    p = 1 / (1 + np.exp(-(-4 + 0.03 * fit + 0.03 * interest)))
    return fit, interest, (rng.random(n) < p).astype(int)


def test_propose_meets_capacity_share(validation_scores) -> None:
    fit, interest, y = validation_scores
    policy = propose_policy(fit, interest, y, sales_now_share=0.15)
    share = float((policy.assign(fit, interest) == "sales_now").mean())
    assert abs(share - 0.15) <= 0.015 + 1e-9
    assert policy.proposed_by == "training"
    assert "sales_now" in policy.rationale
    assert policy.expected["sales_now"]["share"] == pytest.approx(share, abs=1e-4)


def test_propose_sales_now_beats_other_quadrants(validation_scores) -> None:
    fit, interest, y = validation_scores
    policy = propose_policy(fit, interest, y, sales_now_share=0.2)
    rates = {q: s["win_rate"] for q, s in policy.expected.items()}
    assert rates["sales_now"] == max(rates.values())


def test_propose_min_win_rate_shrinks_sales_now(validation_scores) -> None:
    fit, interest, y = validation_scores
    loose = propose_policy(fit, interest, y, sales_now_share=0.3)
    target = loose.expected["sales_now"]["win_rate"] + 0.1
    strict = propose_policy(fit, interest, y, sales_now_share=0.3, min_sales_now_win_rate=target)
    assert strict.expected["sales_now"]["win_rate"] >= target
    assert strict.expected["sales_now"]["share"] < loose.expected["sales_now"]["share"]


def test_policy_with_an_empty_quadrant_round_trips_json(tmp_path: Path) -> None:
    """A quadrant the fold leaves empty has no win rate; the saved policy must still load."""
    fit = np.array([90, 90, 80, 85] * 25)
    interest = np.array([90, 80, 85, 95] * 25)
    y = np.array([1, 0, 0, 1] * 25, dtype=float)
    policy = propose_policy(fit, interest, y, sales_now_share=0.5)
    assert any(s["win_rate"] is None for s in policy.expected.values())
    path = tmp_path / "policy.json"
    policy.save(path)
    assert QuadrantPolicy.load(path) == policy
