"""LightGBM's capacity follows the data, and its rounds are judged on rows that did not pick them."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from models.boosted import WINS_PER_LEAF, BoostedLearner, Capacity, _BestRounds
from models.learners import stratified_halves


def test_capacity_grows_with_wins_and_each_leaf_expects_wins() -> None:
    sizes = [(600, 50), (2_500, 200), (12_000, 1_000), (60_000, 5_000), (600_000, 50_000)]
    capacities = [Capacity.for_data(n, w) for n, w in sizes]
    leaves = [c.num_leaves for c in capacities]
    assert leaves == sorted(leaves) and leaves[0] == 2 and leaves[-1] > leaves[2]
    for (n, w), c in zip(sizes, capacities, strict=True):
        assert c.min_data_in_leaf * w / n >= WINS_PER_LEAF - 0.5 or c.min_data_in_leaf == 2_000


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, 4))
    y = (rng.random(n) < 1 / (1 + np.exp(-(M[:, 0] - 1.5)))).astype(float)
    return M, y


def test_each_half_is_scored_by_the_rounds_the_other_half_chose() -> None:
    M, y = _data(3_000, 0)
    M_val, y_val = _data(1_000, 1)
    halves = stratified_halves(y_val, 0)
    learner = BoostedLearner(feature_names=list("abcd"), categorical=[]).fit(
        M, y, M_val, y_val, halves
    )
    booster_rounds = learner.rounds_
    assert learner.booster_.num_trees() == booster_rounds["all"]
    a, b = halves
    np.testing.assert_array_equal(learner.cross_raw_[b], learner.val_raw_by_half_[0][b])
    np.testing.assert_array_equal(learner.cross_raw_[a], learner.val_raw_by_half_[1][a])


def test_contributions_in_blocks_equal_one_block() -> None:
    M, y = _data(3_000, 4)
    M_val, y_val = _data(1_000, 5)
    learner = BoostedLearner(feature_names=list("abcd"), categorical=[]).fit(
        M, y, M_val, y_val, stratified_halves(y_val, 0)
    )
    whole = learner.contributions(M, block_rows=len(M))
    np.testing.assert_array_equal(learner.contributions(M, block_rows=1_000), whole)
    np.testing.assert_allclose(learner.bias_ + whole.sum(axis=1), learner.raw(M), atol=1e-9)


def test_fixed_capacity_without_patience_trains_every_round() -> None:
    M, y = _data(1_000, 2)
    M_val, y_val = _data(400, 3)
    fixed = Capacity(num_leaves=7, min_data_in_leaf=20, max_rounds=40, patience=0)
    learner = BoostedLearner(feature_names=list("abcd"), categorical=[], capacity=fixed).fit(
        M, y, M_val, y_val, stratified_halves(y_val, 0)
    )
    assert learner.booster_.num_trees() == 40 and learner.capacity_ == fixed


class _Env:
    def __init__(self, iteration: int, a: float, b: float) -> None:
        self.iteration = iteration
        self.evaluation_result_list = [
            ("a", "binary_logloss", a, False),
            ("b", "binary_logloss", b, False),
        ]


def test_best_rounds_per_half_and_whole_window_then_stop() -> None:
    tracker = _BestRounds(patience=3, sizes=(100, 300))
    losses = [(0.50, 0.50), (0.40, 0.45), (0.42, 0.40), (0.43, 0.41), (0.44, 0.42), (0.45, 0.43)]
    with pytest.raises(lgb.callback.EarlyStopException):
        for i, (a, b) in enumerate(losses):
            tracker(_Env(i, a, b))
    assert tracker.best["a"][1] == 2 and tracker.best["b"][1] == 3
    assert tracker.best["all"][1] == 3  # 0.25 * 0.42 + 0.75 * 0.40 beats round 2's 0.4375
