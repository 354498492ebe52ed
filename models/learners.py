"""The declared family of learners every score (fit, interest, combined) chooses from, and
the rule that chooses on the validation window.

Which learner ranks leads best depends on how much there is to learn from: with a few dozen
wins a smoothed frequency table or a regularised logistic regression wins, with thousands
the trees do (`tests/benchmarks/bench_small_data.py`). So each score fits every family on
the training window and keeps the one with the best *cross-fitted* validation AUC: the
validation window is cut into two halves (stratified by outcome), and a row's score comes
from a model whose choices made on the validation window (LightGBM's rounds, the blend's
weights) saw only the other half. The calibration fitted later on the same window cannot
move an AUC, so the choice is never made on in-sample numbers; the test window is never
read here.

Every learner exposes `raw(M)` (log-odds), `contributions(M)` (per feature, in M's column
order) and `bias_`, with `bias_ + contributions.sum(1) == raw` up to rounding, so
calibration, reasons in words and the fit/interest split work whichever family wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from models.baselines import BASELINE_NAMES
from models.boosted import BoostedLearner, Capacity
from models.frequency import FrequencyTable
from models.linear import LinearPart, row_dot

FloatArray = npt.NDArray[np.float64]
Halves = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]

# The declared family, simplest first: a tie on validation goes to the simpler learner.
FAMILIES: tuple[str, ...] = ("frequency", "logistic", "lightgbm", "blend")
FAMILY_LABELS: dict[str, str] = {
    "frequency": "a smoothed frequency model (naive Bayes)",
    "logistic": "a regularised logistic model",
    "lightgbm": "LightGBM",
    "blend": "LightGBM blended with a regularised logistic model",
}
# A family that is also a baseline: the gate compares the chosen model with the other ones.
BASELINE_TWINS: dict[str, str] = {
    "frequency": "baseline_naive_bayes",
    "logistic": "baseline_logreg",
}
assert set(BASELINE_TWINS.values()) <= set(BASELINE_NAMES)

BLEND_MEMBERS: tuple[str, ...] = ("lightgbm", "logistic")
# Within this much cross-fitted validation AUC of the best, the simplest family is chosen.
TIE_MARGIN = 0.0
CHOICE_RULE = (
    "the highest validation AUC, cross-fitted over the window's two halves (mean of the "
    "halves); within {margin} of the best, the simplest family"
)
# Inverse regularisation of the logistic family (scikit-learn's C), on standardised inputs.
LOGISTIC_C = 0.1


class Learner(Protocol):
    """What a score needs of a fitted learner."""

    family: str
    val_raw_: FloatArray  # the fitted model's log-odds of every validation row
    cross_raw_: FloatArray  # honest log-odds of every validation row (see module doc)
    val_raw_by_half_: FloatArray  # (2, n_val): log-odds from the model tuned on half 0 / 1

    @property
    def bias_(self) -> float: ...

    def raw(self, M: FloatArray) -> FloatArray: ...

    def contributions(self, M: FloatArray) -> FloatArray: ...


def stratified_halves(y: npt.ArrayLike, seed: int) -> Halves:
    """Two halves of `range(len(y))`, wins and losses dealt alternately so both halves get
    both outcomes whenever the window has two of each."""
    labels = np.asarray(y)
    rng = np.random.default_rng(seed)
    a: list[int] = []
    b: list[int] = []
    for value in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == value))
        first = len(a) <= len(b)
        a.extend(rows[0 if first else 1 :: 2].tolist())
        b.extend(rows[1 if first else 0 :: 2].tolist())
    return np.sort(np.asarray(a, dtype=np.intp)), np.sort(np.asarray(b, dtype=np.intp))


class TableLearner:
    """The logistic or frequency family: a numpy-scored table model fitted on training only
    (nothing is tuned on validation, so its validation scores are honest as they are)."""

    def __init__(
        self,
        family: str,
        *,
        categorical: Sequence[int],
        n_categories: Sequence[int],
        monotone: Sequence[int] = (),
    ) -> None:
        self.family = family
        self.categorical = [int(j) for j in categorical]
        self.n_categories = [int(k) for k in n_categories]
        self.monotone = [int(j) for j in monotone]

    def fit(
        self, M: FloatArray, y: FloatArray, M_val: FloatArray, y_val: FloatArray, halves: Halves
    ) -> TableLearner:
        model: LinearPart | FrequencyTable = (
            LinearPart(C=LOGISTIC_C) if self.family == "logistic" else FrequencyTable()
        )
        self.model_ = model.fit(
            M,
            y,
            categorical=self.categorical,
            n_categories=self.n_categories,
            nonnegative=self.monotone,
        )
        val = self.raw(M_val)
        self.val_raw_ = val
        self.cross_raw_ = val
        self.val_raw_by_half_ = np.vstack([val, val])
        return self

    @property
    def bias_(self) -> float:
        return self.model_.bias_

    def raw(self, M: FloatArray) -> FloatArray:
        return self.model_.decision(M)

    def contributions(self, M: FloatArray) -> FloatArray:
        return self.model_.contributions(M)


def nonnegative_logistic(Z: FloatArray, y: FloatArray) -> tuple[FloatArray, float]:
    """Logistic weights that are never negative: a column that would get a negative weight
    is dropped and the rest refitted (a blend must not invert a member's ranking: a member
    that ranks the window backwards gets no say, not a flipped one)."""
    keep = list(range(Z.shape[1]))
    coef = np.zeros(Z.shape[1])
    while keep and len(np.unique(y)) == 2:
        lr = LogisticRegression(C=1.0, max_iter=1000).fit(Z[:, keep], y)
        weights = np.asarray(lr.coef_[0], dtype=float)
        bad = [i for i, w in zip(keep, weights, strict=True) if w < 0]
        if not bad:
            coef[keep] = weights
            return coef, float(lr.intercept_[0])
        keep.remove(min(bad, key=lambda i: weights[keep.index(i)]))
    rate = float(np.clip(np.mean(y), 1e-6, 1 - 1e-6))
    return coef, float(np.log(rate / (1 - rate)))


class BlendLearner:
    """LightGBM and logistic log-odds stacked with non-negative weights fitted on the
    validation window; its contributions are the members' contributions so weighted."""

    family = "blend"

    def __init__(self, members: Sequence[Learner]) -> None:
        self.members = list(members)

    def fit(self, y_val: FloatArray, halves: Halves) -> BlendLearner:
        Z = np.column_stack([m.val_raw_ for m in self.members])
        self.weights_, self.intercept_ = nonnegative_logistic(Z, y_val)
        self.val_raw_ = row_dot(Z, self.weights_) + self.intercept_
        cross = np.empty(len(y_val))
        for tuned, judged in ((0, 1), (1, 0)):
            Z_half = np.column_stack([m.val_raw_by_half_[tuned] for m in self.members])
            w, b = nonnegative_logistic(Z_half[halves[tuned]], y_val[halves[tuned]])
            cross[halves[judged]] = row_dot(Z_half[halves[judged]], w) + b
        self.cross_raw_ = cross
        self.val_raw_by_half_ = np.vstack([cross, cross])  # nothing stacks on a blend
        return self

    @property
    def bias_(self) -> float:
        return float(
            sum(w * m.bias_ for w, m in zip(self.weights_, self.members, strict=True))
            + self.intercept_
        )

    def raw(self, M: FloatArray) -> FloatArray:
        Z = np.column_stack([m.raw(M) for m in self.members])
        return row_dot(Z, self.weights_) + self.intercept_

    def contributions(self, M: FloatArray) -> FloatArray:
        out = np.zeros((len(M), M.shape[1]))
        for w, m in zip(self.weights_, self.members, strict=True):
            if w:
                out += w * m.contributions(M)
        return out


def fit_family(
    families: Sequence[str],
    M: FloatArray,
    y: FloatArray,
    M_val: FloatArray,
    y_val: FloatArray,
    halves: Halves,
    *,
    feature_names: Sequence[str],
    categorical: Sequence[int],
    n_categories: Sequence[int],
    monotone: Sequence[int] = (),
    capacity: Capacity | None = None,
    n_jobs: int = 1,
    seed: int = 0,
) -> dict[str, Learner]:
    """Every declared family fitted on (M, y), tuned where it tunes on (M_val, y_val).

    The blend's members are fitted for it even where they are not candidates themselves.
    """
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
        raise ValueError(f"unknown learner families {unknown}; declared: {', '.join(FAMILIES)}")
    needed = set(families) | (set(BLEND_MEMBERS) if "blend" in families else set())
    fitted: dict[str, Learner] = {}
    for family in (f for f in FAMILIES if f in needed):
        if family == "lightgbm":
            fitted[family] = BoostedLearner(
                feature_names=feature_names,
                categorical=categorical,
                monotone=monotone,
                capacity=capacity,
                n_jobs=n_jobs,
                seed=seed,
            ).fit(M, y, M_val, y_val, halves)
        elif family in ("logistic", "frequency"):
            fitted[family] = TableLearner(
                family, categorical=categorical, n_categories=n_categories, monotone=monotone
            ).fit(M, y, M_val, y_val, halves)
    if "blend" in families:
        fitted["blend"] = BlendLearner([fitted[m] for m in BLEND_MEMBERS]).fit(y_val, halves)
    return {f: fitted[f] for f in families}


def half_auc(y: FloatArray, raw: FloatArray, halves: Halves) -> float:
    """Mean AUC over the two halves (a half with one outcome only does not count)."""
    aucs = [float(roc_auc_score(y[h], raw[h])) for h in halves if len(np.unique(y[h])) == 2]
    return float(np.mean(aucs)) if aucs else float("nan")


@dataclass(frozen=True)
class Choice:
    """Which family a score serves, the runner-up, and every family's cross-fitted AUC."""

    chosen: str
    runner_up: str | None
    val_auc: dict[str, float]
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose(
    learners: Mapping[str, Learner], y_val: FloatArray, halves: Halves, margin: float = TIE_MARGIN
) -> Choice:
    """The family with the best cross-fitted validation AUC (see `CHOICE_RULE`)."""
    aucs = {f: half_auc(y_val, m.cross_raw_, halves) for f, m in learners.items()}
    finite = {f: a for f, a in aucs.items() if np.isfinite(a)}
    order = [f for f in FAMILIES if f in learners]
    if not finite:
        chosen = order[0]
    else:
        best = max(finite.values())
        chosen = next(f for f in order if f in finite and finite[f] >= best - margin)
    others = sorted((f for f in finite if f != chosen), key=lambda f: -finite[f])
    return Choice(
        chosen=chosen,
        runner_up=others[0] if others else None,
        val_auc=aucs,
        rule=CHOICE_RULE.format(margin=margin),
    )
