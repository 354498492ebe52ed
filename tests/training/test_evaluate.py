"""Metrics match hand-computed values and scikit-learn where they overlap."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from training.evaluate import (
    binary_metrics,
    expected_calibration_error,
    flatten_metrics,
    lift_and_capture,
    quadrant_table,
)


def test_ece_zero_for_perfectly_calibrated_bins() -> None:
    p = np.repeat([0.1, 0.5], 10)
    y = np.array([1] + [0] * 9 + [1] * 5 + [0] * 5)
    assert expected_calibration_error(y, p, bins=2) == pytest.approx(0.0)


def test_ece_large_for_overconfident_scores() -> None:
    y = np.zeros(100)
    p = np.full(100, 0.9)
    assert expected_calibration_error(y, p) == pytest.approx(0.9)


def test_lift_and_capture_hand_computed() -> None:
    # 100 leads, 10 wins; the top 10 by score hold 5 wins.
    y = np.zeros(100)
    y[:5] = 1
    y[50:55] = 1
    p = np.linspace(1, 0, 100)
    lift, capture = lift_and_capture(y, p, share=0.1)
    assert lift == pytest.approx(0.5 / 0.1)
    assert capture == pytest.approx(0.5)


def test_binary_metrics_auc_matches_sklearn() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(int)
    metrics = binary_metrics(y, p)
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert set(metrics) == {"roc_auc", "pr_auc", "brier", "ece", "lift_top10", "capture_top10"}


def test_binary_metrics_one_class_gives_nan_auc() -> None:
    metrics = binary_metrics(np.zeros(10, dtype=int), np.linspace(0, 1, 10))
    assert np.isnan(metrics["roc_auc"])


def test_quadrant_table_rates_and_shares() -> None:
    quadrants = np.array(["sales_now"] * 4 + ["nurture"] * 4 + ["group_resources"] * 2)
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0])
    table = quadrant_table(quadrants, y)
    assert list(table.index) == ["sales_now", "nurture", "order_taker", "group_resources"]
    assert table.loc["sales_now", "win_rate"] == pytest.approx(0.5)
    assert table.loc["order_taker", "leads"] == 0
    assert table["share"].sum() == pytest.approx(1.0)


def test_flatten_metrics_drops_nan() -> None:
    flat = flatten_metrics("test", {"combined": {"roc_auc": 0.8, "pr_auc": float("nan")}})
    assert flat == {"test_combined_roc_auc": 0.8}


def test_lift_constant_score_is_one_whatever_the_order() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(1_000) < 0.1).astype(int)
    p = np.full(1_000, 0.2)
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(len(y))
        lift, capture = lift_and_capture(y[order], p[order])
        assert lift == pytest.approx(1.0, abs=1e-12)
        assert capture == pytest.approx(0.1, abs=1e-12)


def test_lift_ties_at_the_cut_share_their_average() -> None:
    # 20 leads: 1 clear top lead (won), then 10 tied leads holding 5 wins; top 10% = 2 rows
    # = the top lead plus one of the ten tied, worth half a win on average.
    y = np.array([1] + [1] * 5 + [0] * 5 + [0] * 9)
    p = np.array([0.9] + [0.5] * 10 + [0.1] * 9)
    lift, capture = lift_and_capture(y, p, share=0.1)
    assert capture == pytest.approx(1.5 / 6)
    assert lift == pytest.approx((1.5 / 2) / (6 / 20))
    shuffled = np.random.default_rng(0).permutation(len(y))
    assert lift_and_capture(y[shuffled], p[shuffled], share=0.1) == pytest.approx((lift, capture))


def test_wins_in_top_interpolates_inside_a_tied_group() -> None:
    from training.evaluate import wins_in_top

    y = np.array([1, 0, 1, 0])
    p = np.array([0.5, 0.5, 0.5, 0.5])
    assert wins_in_top(y, p, [0, 1, 2, 4]).tolist() == pytest.approx([0.0, 0.5, 1.0, 2.0])


def test_rank_auc_matches_sklearn_with_ties() -> None:
    from training.evaluate import rank_auc

    rng = np.random.default_rng(1)
    p = rng.integers(0, 5, 300).astype(float)
    y = (rng.random(300) < 0.3).astype(int)
    assert rank_auc(y, p) == pytest.approx(roc_auc_score(y, p))
    assert np.isnan(rank_auc(np.zeros(5), np.arange(5)))
