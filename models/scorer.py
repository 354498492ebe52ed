"""`LeadScorer`: a fit score, an interest score and a combined win probability, calibrated.

Fit ("is this the kind of buyer who wins?") and interest ("are they in market now?") are
separate models so each score means one thing to sales and marketing; the combined score is
the win probability from all features. Each comes from the member of a declared family of
learners (`models.learners`) that ranks the validation window best, and is calibrated on
that window so a score of 30 means ~30% win.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator

from data_contracts.vocab import HIGH_INTENT_EVENT_TYPES
from models.boosted import BoostedLearner, Capacity
from models.calibration import Calibrator, choose_calibration
from models.encoding import category_lookups, encode, encode_columns, learn_categories
from models.learners import FAMILIES, Choice, Learner, choose, fit_family, stratified_halves
from models.linear import row_sum
from models.policy import QUADRANTS, QuadrantPolicy, to_score
from models.reasons import Phrasebook, reason_line, top_reasons

FloatArray = npt.NDArray[np.float64]
PARTS = ("fit", "interest")
IMPORTANCE_ROWS = 5_000  # validation rows a score's feature importance is measured on
# The three scores every answer carries; "combined" is the win probability from both parts.
SCORES: tuple[str, ...] = ("fit", "interest", "combined")
SCORED_COLUMNS: tuple[str, ...] = (
    *(f"{p}_probability" for p in SCORES),
    *(f"{p}_score" for p in SCORES),
    "quadrant",
    "action",
    "tier",
    "speed_to_lead_minutes",
    "fit_reasons",
    "interest_reasons",
    # One plain-text line per score (`models.reasons.reason_line`), for a CRM text property.
    *(f"{p}_reason_text" for p in SCORES),
    "unseen_categories",
)


def auto_monotone(interest_columns: Sequence[str], categorical: Sequence[str]) -> dict[str, int]:
    """+1 for counts/recency-weighted sums of high-intent events (pricing page, demo, ...).

    More buying intent must never lower the interest score; "days since" style columns are
    left free because their direction is not "more is better".
    """
    out: dict[str, int] = {}
    for col in interest_columns:
        name = col.lower()
        if col in categorical or any(
            t in name for t in ("since", "recency", "first", "ratio", "share")
        ):
            continue
        if any(event in name for event in HIGH_INTENT_EVENT_TYPES):
            out[col] = 1
    return out


def _objects(items: list[Any]) -> npt.NDArray[Any]:
    """A 1-D object array of arbitrary items (lists stay lists, not a 2-D array)."""
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    return arr


@dataclass(frozen=True)
class ScoreModel:
    """One served score: the chosen learner over its columns, its calibration, and the
    choice that picked it (with every family's cross-fitted validation AUC)."""

    learner: Learner
    columns: npt.NDArray[np.intp]  # positions in the scorer's encoded matrix
    feature_names: tuple[str, ...]
    calibrator: Calibrator
    calibration_ece: dict[str, float]
    choice: Choice
    importance: dict[str, float]  # share of the mean |contribution| on validation

    def contributions(self, M: FloatArray) -> FloatArray:
        """Per-feature log-odds of this score's learner; with its bias they sum to the raw
        score."""
        if len(M) == 0:
            return np.zeros((0, len(self.columns)))
        return self.learner.contributions(M[:, self.columns])

    def probability(self, M: FloatArray, contributions: FloatArray | None = None) -> FloatArray:
        """Calibrated probabilities; reuses contributions where given (they sum to the raw
        score, so the learner is not asked twice)."""
        if len(M) == 0:
            return np.zeros(0)
        raw = (
            self.learner.bias_ + row_sum(contributions)
            if contributions is not None
            else self.learner.raw(M[:, self.columns])
        )
        return self.calibrator.predict(raw)


class LeadScorer(BaseEstimator):  # type: ignore[misc]
    """Fit, interest and combined scores, each from the family member that ranks the
    validation window best (`models.learners`), each calibrated on that window.

    families: the declared family each score chooses from (default `FAMILIES`; one name
    forces it). capacity: LightGBM's `Capacity`, or None to follow the data
    (`Capacity.for_data`). calibration: "isotonic", "platt" or "auto" (lower out-of-fold
    ECE on the calibration fold). monotone: "auto" (see `auto_monotone`), a {column: 1}
    dict, or None.
    """

    def __init__(
        self,
        *,
        families: tuple[str, ...] = FAMILIES,
        capacity: Capacity | None = None,
        calibration: Literal["auto", "isotonic", "platt"] = "auto",
        monotone: Literal["auto"] | dict[str, int] | None = "auto",
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.families = families
        self.capacity = capacity
        self.calibration = calibration
        self.monotone = monotone
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------------ training
    def fit(
        self,
        X: pd.DataFrame,
        y: npt.ArrayLike,
        *,
        X_cal: pd.DataFrame,
        y_cal: npt.ArrayLike,
        fit_columns: Sequence[str],
        interest_columns: Sequence[str],
        categorical_columns: Sequence[str] = (),
        feature_sets: Sequence[Any] | None = None,
    ) -> LeadScorer:
        """Train every family on (X, y); choose, early-stop and calibrate on (X_cal, y_cal).

        `feature_sets` (optional) supply descriptions and phrase templates for reason codes.
        """
        y_tr = np.asarray(y, dtype=float)
        y_c = np.asarray(y_cal, dtype=float)
        if len(np.unique(y_tr)) < 2 or len(np.unique(y_c)) < 2:
            raise ValueError("both the training and calibration folds need wins and losses")
        self.fit_columns_ = list(fit_columns)
        self.interest_columns_ = list(interest_columns)
        self.columns_ = list(dict.fromkeys([*self.fit_columns_, *self.interest_columns_]))
        self.categorical_columns_ = [c for c in self.columns_ if c in set(categorical_columns)]
        self.categories_ = learn_categories(X, self.categorical_columns_)
        self.category_lookups_ = category_lookups(self.categories_)
        if self.monotone == "auto":
            self.monotone_ = auto_monotone(self.interest_columns_, self.categorical_columns_)
        else:
            self.monotone_ = dict(self.monotone or {})
        self.phrasebook_ = Phrasebook.from_feature_sets(feature_sets)
        self.n_train_wins_ = int(y_tr.sum())

        M, _ = self._encoded(X)
        M_cal, _ = self._encoded(X_cal)
        halves = stratified_halves(y_c, self.random_state)
        parts = {"fit": self.fit_columns_, "interest": self.interest_columns_}
        parts["combined"] = self.columns_
        self.models_: dict[str, ScoreModel] = {
            score: self._fit_score(M, y_tr, M_cal, y_c, halves, cols)
            for score, cols in parts.items()
        }
        return self

    def _fit_score(
        self,
        M: FloatArray,
        y: FloatArray,
        M_cal: FloatArray,
        y_cal: FloatArray,
        halves: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]],
        cols: list[str],
    ) -> ScoreModel:
        """Every family on one score's columns; the chosen one, calibrated."""
        idx = np.asarray([self.columns_.index(c) for c in cols], dtype=np.intp)
        learners = self._family(M[:, idx], y, M_cal[:, idx], y_cal, halves, cols)
        choice = choose(learners, y_cal, halves)
        learner = learners[choice.chosen]
        cal, _, eces = choose_calibration(
            learner.val_raw_, y_cal, self.calibration, self.random_state
        )
        weight = np.abs(learner.contributions(M_cal[:IMPORTANCE_ROWS, idx])).mean(axis=0)
        total = float(weight.sum()) or 1.0
        return ScoreModel(
            learner=learner,
            columns=idx,
            feature_names=tuple(cols),
            calibrator=cal,
            calibration_ece=eces,
            choice=choice,
            importance={c: float(w) / total for c, w in zip(cols, weight, strict=True)},
        )

    def _family(
        self,
        M: FloatArray,
        y: FloatArray,
        M_cal: FloatArray,
        y_cal: FloatArray,
        halves: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]],
        cols: list[str],
    ) -> dict[str, Learner]:
        categorical = [j for j, c in enumerate(cols) if c in self.categories_]
        return fit_family(
            self.families,
            M,
            y,
            M_cal,
            y_cal,
            halves,
            feature_names=cols,
            categorical=categorical,
            n_categories=[len(self.categories_[cols[j]]) for j in categorical],
            monotone=[j for j, c in enumerate(cols) if self.monotone_.get(c, 0) > 0],
            capacity=self.capacity,
            n_jobs=self.n_jobs,
            seed=self.random_state,
        )

    def refit_family(
        self,
        X: pd.DataFrame,
        y: npt.ArrayLike,
        X_cal: pd.DataFrame,
        y_cal: npt.ArrayLike,
        score: str,
    ) -> tuple[dict[str, Learner], npt.NDArray[np.intp]]:
        """Every family for one score refitted exactly as `fit` fitted them, with the score's
        matrix columns: for benchmarks that judge the choice against the test window."""
        M, _ = self._encoded(X)
        M_cal, _ = self._encoded(X_cal)
        y_c = np.asarray(y_cal, dtype=float)
        model = self.models_[score]
        idx = model.columns
        learners = self._family(
            M[:, idx],
            np.asarray(y, dtype=float),
            M_cal[:, idx],
            y_c,
            stratified_halves(y_c, self.random_state),
            list(model.feature_names),
        )
        return learners, idx

    @property
    def choices_(self) -> dict[str, Choice]:
        """Which family serves each score, and why."""
        return {score: model.choice for score, model in self.models_.items()}

    def capacities(self) -> dict[str, dict[str, Any]]:
        """LightGBM's capacity and rounds for each score whose family fitted one."""
        out: dict[str, dict[str, Any]] = {}
        for score, model in self.models_.items():
            learner: Any = model.learner
            members = [learner, *getattr(learner, "members", [])]
            for m in members:
                if isinstance(m, BoostedLearner):
                    out[score] = {**m.capacity_.to_dict(), "rounds": m.rounds_["all"]}
        return out

    # ------------------------------------------------------------------ scoring
    def _encoded(self, X: pd.DataFrame) -> tuple[FloatArray, list[list[str]]]:
        return encode(X, self.columns_, self.categories_, self._lookups())

    def _lookups(self) -> dict[str, dict[Any, int]]:
        """The fitted category look-ups (rebuilt for a model pickled before they existed)."""
        fitted: dict[str, dict[Any, int]] | None = getattr(self, "category_lookups_", None)
        return fitted if fitted is not None else category_lookups(self.categories_)

    def _probabilities(
        self, M: FloatArray, contribs: dict[str, FloatArray] | None = None
    ) -> dict[str, FloatArray]:
        """Calibrated probabilities of the three scores."""
        contribs = contribs or {}
        return {p: self.models_[p].probability(M, contribs.get(p)) for p in SCORES}

    def predict_parts(self, X: pd.DataFrame) -> pd.DataFrame:
        """Calibrated fit, interest and combined probabilities, indexed like X."""
        M, _ = self._encoded(X)
        probs = self._probabilities(M)
        return pd.DataFrame({f"{p}_probability": probs[p] for p in SCORES}, index=X.index)

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """(n, 2) [P(lose), P(win)] of the combined model, for scikit-learn tooling."""
        win = self.predict_parts(X)["combined_probability"].to_numpy()
        return np.column_stack([1 - win, win])

    def contributions(self, X: pd.DataFrame, part: Literal["fit", "interest"]) -> pd.DataFrame:
        """Per-feature contributions (log-odds) of one score; with the learner's bias they
        sum to its raw score."""
        M, _ = self._encoded(X)
        model = self.models_[part]
        return pd.DataFrame(
            model.contributions(M), index=X.index, columns=list(model.feature_names)
        )

    def reasons(
        self, X: pd.DataFrame, part: Literal["fit", "interest"], *, top_k: int = 3
    ) -> list[list[dict[str, Any]]]:
        """Reason codes of one score per row (see `models.reasons.top_reasons`)."""
        M, _ = self._encoded(X)
        return self._reasons(part, M, top_k)

    def _reasons(
        self, part: str, M: FloatArray, top_k: int, contribs: FloatArray | None = None
    ) -> list[list[dict[str, Any]]]:
        model = self.models_[part]
        names = list(model.feature_names)
        cats = {j: self.categories_[n] for j, n in enumerate(names) if n in self.categories_}
        if contribs is None:
            contribs = model.contributions(M)
        return top_reasons(
            contribs, M[:, model.columns], names, cats, self.phrasebook_, top_k=top_k
        )

    def score_leads(
        self, X: pd.DataFrame, policy: QuadrantPolicy, *, reasons: bool = True, top_k: int = 3
    ) -> pd.DataFrame:
        """The ScoredLead columns (without model_version), reasons and unseen categories.

        One row per row of X, indexed like X (the `lead_id` index; `reset_index()` gives the
        ScoredLead `lead_id` column).
        """
        M, unseen = self._encoded(X)
        out = self._score_matrix(M, unseen, policy, reasons=reasons, top_k=top_k)
        # Explicit dtypes: letting pandas infer (arrow strings, list scanning) costs ms a call.
        index = X.index
        return pd.DataFrame(
            {
                c: pd.Series(
                    out[c] if isinstance(out[c], np.ndarray) else _objects(out[c]),
                    index=index,
                    dtype=None
                    if isinstance(out[c], np.ndarray) and out[c].dtype != object
                    else object,
                    copy=False,
                )
                for c in SCORED_COLUMNS
            },
            index=index,
        )

    def score_columns(
        self,
        features: Mapping[str, Any],
        n: int,
        policy: QuadrantPolicy,
        *,
        reasons: bool = True,
        top_k: int = 3,
    ) -> dict[str, Any]:
        """`score_leads` on plain feature columns (name -> array of n), answered as columns
        (`SCORED_COLUMNS`): the API's path, which never builds a DataFrame."""
        M, unseen = encode_columns(features, n, self.columns_, self.categories_, self._lookups())
        return self._score_matrix(M, unseen, policy, reasons=reasons, top_k=top_k)

    def _score_matrix(
        self,
        M: FloatArray,
        unseen: list[list[str]],
        policy: QuadrantPolicy,
        *,
        reasons: bool,
        top_k: int,
    ) -> dict[str, Any]:
        contribs = {p: self.models_[p].contributions(M) for p in PARTS} if reasons else {}
        probs = self._probabilities(M, contribs)
        scores = {p: to_score(probs[p]) for p in SCORES}
        code = policy.codes(scores["fit"], scores["interest"])
        actions = list(policy.actions.values())
        n = len(M)
        out: dict[str, Any] = {}
        for p in SCORES:
            out[f"{p}_probability"] = np.asarray(probs[p], dtype=np.float64)
        for p in SCORES:
            out[f"{p}_score"] = scores[p]
        out["quadrant"] = np.asarray(QUADRANTS, dtype=object)[code]
        out["action"] = np.asarray([a.action for a in actions], dtype=object)[code]
        out["tier"] = np.asarray([a.tier for a in actions], dtype=np.int64)[code]
        out["speed_to_lead_minutes"] = np.asarray(
            [a.speed_to_lead_minutes for a in actions], dtype=np.int64
        )[code]
        for p in PARTS:
            out[f"{p}_reasons"] = (
                self._reasons(p, M, top_k, contribs[p]) if reasons else [[] for _ in range(n)]
            )
            out[f"{p}_reason_text"] = [reason_line(r) for r in out[f"{p}_reasons"]]
        out["combined_reason_text"] = [
            reason_line(*r) for r in zip(*(out[f"{p}_reasons"] for p in PARTS), strict=True)
        ]
        out["unseen_categories"] = unseen
        return out

    def feature_importance(self) -> dict[str, dict[str, float]]:
        """Each feature's share of a score's mean |contribution| on the validation window
        (one measure for every family, so two versions' plots compare)."""
        return {score: dict(model.importance) for score, model in self.models_.items()}
