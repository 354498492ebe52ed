"""LightGBM as one learner of the family: capacity that follows the data, rounds chosen on
the validation window without judging on the rows that chose them.

Capacity (`Capacity.for_data`): the leaves per tree grow with the log of the training wins
and every leaf must expect a few wins, because with 60 wins a 7-leaf tree learns noise and
with 60,000 a stump leaves signal behind; `tests/benchmarks/bench_small_data.py` measures
the ladder. Rounds: training watches the log-loss on all of the validation window and on
each of its two halves; the final model stops where the whole window is best, and the
honest validation score of each half comes from the model stopped where the *other* half
was best (`val_raw_by_half_`), so choosing a family never rewards the rows that stopped it.

All booster predictions go through `_predict` and `_leaves`: the one seam where a compiled
predictor could stand in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from models.reasons import PathContributions

FloatArray = npt.NDArray[np.float64]
Halves = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]

# Capacity ladder: one more leaf each time the training wins double beyond this many.
LEAF_DOUBLING_WINS = 250
MAX_LEAVES = 31
WINS_PER_LEAF = 5  # a leaf holds at least this many expected wins (and MIN_LEAF_ROWS rows)
MIN_LEAF_ROWS = 20
# Rows whose leaf indices are held at once when explaining: (rows x trees) indices, their
# offsets and a one-hot of them cost about 32 bytes a tree a row, so a 100k-lead chunk of a
# 1,400-tree model would need gigabytes at once; blocks keep that to a few hundred MB.
CONTRIB_BLOCK_ROWS = 8_192
MAX_LEAF_ROWS = 2_000


@dataclass(frozen=True)
class Capacity:
    """How much a booster may learn: leaves per tree, rows per leaf, step and rounds.

    `patience` rounds without improvement on the validation window stop training (0: train
    all `max_rounds`, as the speed benchmarks do for a fixed size of model).
    """

    num_leaves: int
    min_data_in_leaf: int
    learning_rate: float = 0.05
    max_rounds: int = 3_000
    patience: int = 50

    @classmethod
    def for_data(cls, n_rows: int, n_wins: int) -> Capacity:
        """The capacity for a training window of `n_rows` leads holding `n_wins` wins."""
        wins = max(int(n_wins), 1)
        doublings = int(np.floor(np.log2(max(wins / LEAF_DOUBLING_WINS, 1.0))))
        leaves = int(np.clip(1 + doublings, 2, MAX_LEAVES))
        per_leaf = int(np.clip(round(WINS_PER_LEAF * n_rows / wins), MIN_LEAF_ROWS, MAX_LEAF_ROWS))
        return cls(num_leaves=leaves, min_data_in_leaf=per_leaf)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _BestRounds:
    """A LightGBM callback: the best round by log-loss on each validation half and on the
    whole window (the halves' row-weighted mean, so LightGBM scores each row once); stops
    once none of the three has improved for `patience` rounds."""

    def __init__(self, patience: int, sizes: tuple[int, int]) -> None:
        self.patience = patience
        self.weights = np.asarray(sizes, dtype=float) / max(sum(sizes), 1)
        self.best: dict[str, tuple[float, int]] = {}
        self.order = 20  # after LightGBM's own callbacks

    def __call__(self, env: Any) -> None:
        losses = {str(item[0]): float(item[2]) for item in env.evaluation_result_list or ()}
        losses["all"] = float(self.weights @ [losses["a"], losses["b"]])
        for name, value in losses.items():
            if name not in self.best or value < self.best[name][0]:
                self.best[name] = (value, env.iteration + 1)
        last = max(it for _, it in self.best.values())
        if self.patience and env.iteration + 1 - last >= self.patience:
            raise lgb.callback.EarlyStopException(env.iteration, list(env.evaluation_result_list))


class BoostedLearner:
    """Gradient-boosted trees (LightGBM) over the encoded matrix; contributions are the
    trees' path contributions (`models.reasons.PathContributions`)."""

    family = "lightgbm"

    def __init__(
        self,
        *,
        feature_names: Sequence[str],
        categorical: Sequence[int],
        monotone: Sequence[int] = (),
        capacity: Capacity | None = None,
        n_jobs: int = 1,
        seed: int = 0,
    ) -> None:
        self.feature_names = list(feature_names)
        self.categorical = [int(j) for j in categorical]
        self.monotone = [int(j) for j in monotone]
        self.capacity = capacity
        self.n_jobs = n_jobs
        self.seed = seed

    def _params(self, capacity: Capacity) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": "binary",
            "metric": "binary_logloss",
            "learning_rate": capacity.learning_rate,
            "num_leaves": capacity.num_leaves,
            "min_data_in_leaf": capacity.min_data_in_leaf,
            "min_data_per_group": max(10, capacity.min_data_in_leaf // 2),
            "feature_fraction": 0.9,
            "lambda_l2": 1.0,
            "cat_smooth": 10.0,
            "num_threads": self.n_jobs,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
        }
        if self.monotone:
            watched = set(self.monotone)
            params["monotone_constraints"] = [
                int(j in watched) for j in range(len(self.feature_names))
            ]
            params["monotone_constraints_method"] = "advanced"
        return params

    def fit(
        self, M: FloatArray, y: FloatArray, M_val: FloatArray, y_val: FloatArray, halves: Halves
    ) -> BoostedLearner:
        capacity = self.capacity or Capacity.for_data(len(y), int(np.sum(y)))
        train = lgb.Dataset(
            M,
            y,
            feature_name=self.feature_names,
            categorical_feature=self.categorical,
            free_raw_data=True,
        )
        valid = [lgb.Dataset(M_val[h], y_val[h], reference=train) for h in halves]
        rounds = _BestRounds(capacity.patience, (len(halves[0]), len(halves[1])))
        booster = lgb.train(
            self._params(capacity),
            train,
            num_boost_round=capacity.max_rounds,
            valid_sets=valid,
            valid_names=["a", "b"],
            callbacks=[rounds],
        )
        trained = booster.current_iteration()
        best = {
            n: rounds.best[n][1] if capacity.patience and n in rounds.best else trained
            for n in ("a", "b", "all")
        }
        self.capacity_ = capacity
        self.rounds_ = best
        self.val_raw_by_half_ = np.vstack(
            [self._predict(booster, M_val, best[n]) for n in ("a", "b")]
        )
        self.cross_raw_ = np.empty(len(y_val))
        self.cross_raw_[halves[1]] = self.val_raw_by_half_[0][halves[1]]
        self.cross_raw_[halves[0]] = self.val_raw_by_half_[1][halves[0]]
        # Keep only the trees the final model uses, so reasons and predictions see one model.
        self.booster_ = lgb.Booster(model_str=booster.model_to_string(num_iteration=best["all"]))
        self.paths_ = PathContributions.from_booster(self.booster_)
        self.val_raw_ = self.raw(M_val)
        return self

    def _predict(
        self, booster: lgb.Booster, M: FloatArray, rounds: int | None = None
    ) -> FloatArray:
        if len(M) == 0:
            return np.zeros(0)
        return np.asarray(
            booster.predict(M, raw_score=True, num_iteration=rounds, num_threads=self.n_jobs),
            dtype=np.float64,
        )

    def _leaves(self, M: FloatArray) -> npt.NDArray[np.int32]:
        leaves = self.booster_.predict(M, pred_leaf=True, num_threads=self.n_jobs)
        return np.asarray(leaves).reshape(len(M), -1)

    @property
    def bias_(self) -> float:
        return self.paths_.bias

    def raw(self, M: FloatArray) -> FloatArray:
        return self._predict(self.booster_, M)

    def contributions(self, M: FloatArray, *, block_rows: int = CONTRIB_BLOCK_ROWS) -> FloatArray:
        """Per-feature path contributions, `block_rows` rows at a time (each row's sum is
        its own, so blocks change the memory held, not the answer)."""
        if len(M) == 0:
            return np.zeros((0, len(self.feature_names)))
        if len(M) <= block_rows:
            return self.paths_.contributions(self._leaves(M))
        return np.vstack(
            [
                self.paths_.contributions(self._leaves(M[start : start + block_rows]))
                for start in range(0, len(M), block_rows)
            ]
        )
