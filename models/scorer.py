"""`LeadScorer`: a LightGBM fit model, a LightGBM interest model, calibration and a combiner.

Fit ("is this the kind of buyer who wins?") and interest ("are they in market now?") are
separate models so each score means one thing to sales and marketing; the win probability
combines them. Both are calibrated on a later fold so a score of 30 means ~30% win.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from data_contracts.vocab import HIGH_INTENT_EVENT_TYPES
from models.calibration import Calibrator, choose_calibration, halves, logit, sigmoid
from models.encoding import category_lookups, encode, encode_columns, learn_categories
from models.linear import LinearPart, row_dot
from models.policy import QUADRANTS, QuadrantPolicy, to_score
from models.reasons import PathContributions, Phrasebook, reason_line, top_reasons

FloatArray = npt.NDArray[np.float64]
PARTS = ("fit", "interest")
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


def _logistic(
    Z: FloatArray, y: FloatArray, nonnegative: Sequence[bool]
) -> tuple[FloatArray, float]:
    """Logistic weights; a column marked non-negative that would get a negative weight is
    dropped and the rest refitted (stacking must not invert a model's ranking: a model that
    ranks the calibration window backwards gets no say, not a flipped one)."""
    keep = list(range(Z.shape[1]))
    coef = np.zeros(Z.shape[1])
    while keep:
        lr = LogisticRegression(C=1.0, max_iter=1000).fit(Z[:, keep], y)
        weights = np.asarray(lr.coef_[0], dtype=float)
        bad = [i for i, w in zip(keep, weights, strict=True) if nonnegative[i] and w < 0]
        if not bad:
            coef[keep] = weights
            return coef, float(lr.intercept_[0])
        keep.remove(min(bad, key=lambda i: weights[keep.index(i)]))
    rate = float(np.clip(np.mean(y), 1e-6, 1 - 1e-6))
    return coef, float(np.log(rate / (1 - rate)))


def _stacker(
    Z: FloatArray, y: FloatArray, seed: int, nonnegative: Sequence[bool] | None = None
) -> tuple[FloatArray, float, FloatArray]:
    """Logistic stacking weights on the calibration fold, and cross-fitted (two-halves)
    out-of-sample predictions of it, so its own AUC is not measured in sample."""
    mask = list(nonnegative) if nonnegative is not None else [False] * Z.shape[1]
    coef, intercept = _logistic(Z, y, mask)
    a, b = halves(len(y), seed)
    cross = np.empty(len(y))
    for tr, te in ((a, b), (b, a)):
        c, i = _logistic(Z[tr], y[tr], mask)
        cross[te] = sigmoid(row_dot(Z[te], c) + i)
    return coef, intercept, cross


class LeadScorer(BaseEstimator):  # type: ignore[misc]
    """Fit + interest LightGBM models, each calibrated, and a combined win probability.

    combiner: "ensemble" (default) = a third LightGBM on all features (calibrated, out of fold)
    stacked with a scikit-learn logistic regression on the same features (`models.linear`),
    the stacking weights fitted on the calibration fold; "stack" = logistic regression on the
    fit and interest logits and their product; "joint" = the third LightGBM alone, calibrated. calibration: "isotonic", "platt" or "auto" (lower
    out-of-fold ECE on the calibration fold). monotone: "auto" (see `auto_monotone`), a
    {column: -1|0|1} dict, or None.

    Defaults (ensemble combiner, small slow trees) were picked by comparing candidates on the
    time-ordered test windows of generated leads and of Leads X (`bench_train.py`). Stacking
    the two separately trained score models loses the joint structure; trees alone trail a
    linear model where the truth is additive.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 600,
        learning_rate: float = 0.03,
        num_leaves: int = 7,
        max_depth: int = 5,
        min_child_samples: int = 50,
        colsample_bytree: float = 0.9,
        reg_lambda: float = 1.0,
        early_stopping_rounds: int | None = 30,
        calibration: Literal["auto", "isotonic", "platt"] = "auto",
        combiner: Literal["stack", "joint", "ensemble"] = "ensemble",
        monotone: Literal["auto"] | dict[str, int] | None = "auto",
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.combiner = combiner
        self.monotone = monotone
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------------ training
    def _train_booster(
        self,
        X: FloatArray,
        y: FloatArray,
        X_cal: FloatArray,
        y_cal: FloatArray,
        names: list[str],
        categorical: list[str],
        monotone: dict[str, int],
    ) -> lgb.Booster:
        params: dict[str, Any] = {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_data_in_leaf": self.min_child_samples,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "min_data_per_group": 20,
            "cat_smooth": 10.0,
            "num_threads": self.n_jobs,
            "seed": self.random_state,
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
        }
        if any(monotone.get(n, 0) for n in names):
            params["monotone_constraints"] = [int(monotone.get(n, 0)) for n in names]
            params["monotone_constraints_method"] = "advanced"
        cat_idx = [i for i, n in enumerate(names) if n in categorical]
        train = lgb.Dataset(
            X, y, feature_name=names, categorical_feature=cat_idx, free_raw_data=True
        )
        callbacks: list[Any] = []
        valid_sets = []
        if self.early_stopping_rounds:
            valid_sets = [lgb.Dataset(X_cal, y_cal, reference=train)]
            callbacks = [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
        booster = lgb.train(
            params,
            train,
            num_boost_round=self.n_estimators,
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
        # Keep only the trees that are used, so reasons and predictions see the same model.
        return lgb.Booster(model_str=booster.model_to_string(num_iteration=best))

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
        """Train on (X, y); early-stop, calibrate and fit the combiner on (X_cal, y_cal).

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

        M, _ = self._encoded(X)
        M_cal, _ = self._encoded(X_cal)
        self.boosters_: dict[str, lgb.Booster] = {}
        self.calibrators_: dict[str, Calibrator] = {}
        self.calibration_ece_: dict[str, dict[str, float]] = {}
        self.paths_: dict[str, PathContributions] = {}
        oof: dict[str, FloatArray] = {}
        parts = {"fit": self.fit_columns_, "interest": self.interest_columns_}
        if self.combiner in ("joint", "ensemble"):
            parts["joint"] = self.columns_
        for part, cols in parts.items():
            idx = [self.columns_.index(c) for c in cols]
            booster = self._train_booster(
                M[:, idx], y_tr, M_cal[:, idx], y_c, cols, self.categorical_columns_, self.monotone_
            )
            raw_cal = np.asarray(
                booster.predict(M_cal[:, idx], raw_score=True, num_threads=self.n_jobs), dtype=float
            )
            cal, oof[part], eces = choose_calibration(
                raw_cal, y_c, self.calibration, self.random_state
            )
            self.boosters_[part] = booster
            self.calibrators_[part] = cal
            self.calibration_ece_[part] = eces
            if part in PARTS:
                self.paths_[part] = PathContributions.from_booster(booster)
        self.column_index_ = {
            part: np.asarray([self.columns_.index(c) for c in cols]) for part, cols in parts.items()
        }

        if self.combiner == "stack":
            Z = self._stack_design(oof["fit"], oof["interest"])
            self.stack_coef_, self.stack_intercept_, cross = _stacker(Z, y_c, self.random_state + 1)
            win_oof = sigmoid(row_dot(Z, self.stack_coef_) + self.stack_intercept_)
            self.cal_auc_ = {
                "fit": float(roc_auc_score(y_c, oof["fit"])),
                "interest": float(roc_auc_score(y_c, oof["interest"])),
                "combined": float(roc_auc_score(y_c, cross)),
                "combined_in_sample": float(roc_auc_score(y_c, win_oof)),
            }
        elif self.combiner == "ensemble":
            cat_idx = [self.columns_.index(c) for c in self.categorical_columns_]
            self.linear_ = LinearPart().fit(
                M,
                y_tr,
                categorical=cat_idx,
                n_categories=[len(self.categories_[c]) for c in self.categorical_columns_],
            )
            Z = np.column_stack([logit(oof["joint"]), self.linear_.decision(M_cal)])
            self.ensemble_coef_, self.ensemble_intercept_, cross = _stacker(
                Z, y_c, self.random_state + 2, nonnegative=[True, True]
            )
            self.cal_auc_ = {
                **{p: float(roc_auc_score(y_c, oof[p])) for p in parts},
                "linear": float(roc_auc_score(y_c, Z[:, 1])),
                "combined": float(roc_auc_score(y_c, cross)),
            }
        else:
            self.cal_auc_ = {p: float(roc_auc_score(y_c, oof[p])) for p in parts}
        return self

    @staticmethod
    def _stack_design(p_fit: FloatArray, p_int: FloatArray) -> FloatArray:
        lf, li = logit(p_fit), logit(p_int)
        return np.column_stack([lf, li, lf * li])

    # ------------------------------------------------------------------ scoring
    def _encoded(self, X: pd.DataFrame) -> tuple[FloatArray, list[list[str]]]:
        return encode(X, self.columns_, self.categories_, self._lookups())

    def _lookups(self) -> dict[str, dict[Any, int]]:
        """The fitted category look-ups (rebuilt for a model pickled before they existed)."""
        fitted: dict[str, dict[Any, int]] | None = getattr(self, "category_lookups_", None)
        return fitted if fitted is not None else category_lookups(self.categories_)

    def _raw(self, part: str, M: FloatArray) -> FloatArray:
        if len(M) == 0:
            return np.zeros(0)
        sub = M[:, self.column_index_[part]]
        return np.asarray(
            self.boosters_[part].predict(sub, raw_score=True, num_threads=self.n_jobs)
        )

    def _contributions(self, part: str, M: FloatArray) -> FloatArray:
        if len(M) == 0:
            return np.zeros((0, len(self.column_index_[part])))
        sub = M[:, self.column_index_[part]]
        leaves = self.boosters_[part].predict(sub, pred_leaf=True, num_threads=self.n_jobs)
        return self.paths_[part].contributions(np.asarray(leaves).reshape(len(M), -1))

    def _probabilities(
        self, M: FloatArray, contribs: dict[str, FloatArray] | None = None
    ) -> dict[str, FloatArray]:
        """Calibrated probabilities; reuses path contributions (they sum to the raw score)."""
        contribs = contribs or {}
        probs = {
            p: self.calibrators_[p].predict(
                self.paths_[p].raw_score(contribs[p]) if p in contribs else self._raw(p, M)
            )
            for p in self.boosters_
        }
        if self.combiner == "stack":
            Z = self._stack_design(probs["fit"], probs["interest"])
            probs["combined"] = sigmoid(row_dot(Z, self.stack_coef_) + self.stack_intercept_)
        elif self.combiner == "ensemble":
            Z = np.column_stack([logit(probs.pop("joint")), self.linear_.decision(M)])
            probs["combined"] = sigmoid(row_dot(Z, self.ensemble_coef_) + self.ensemble_intercept_)
        else:
            probs["combined"] = probs.pop("joint")
        return probs

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
        """Per-feature path contributions (log-odds) of one model; they sum to its raw score."""
        M, _ = self._encoded(X)
        c = self._contributions(part, M)
        return pd.DataFrame(c, index=X.index, columns=list(self.paths_[part].feature_names))

    def reasons(
        self, X: pd.DataFrame, part: Literal["fit", "interest"], *, top_k: int = 3
    ) -> list[list[dict[str, Any]]]:
        """Reason codes of one score per row (see `models.reasons.top_reasons`)."""
        M, _ = self._encoded(X)
        return self._reasons(part, M, top_k)

    def _reasons(
        self, part: str, M: FloatArray, top_k: int, contribs: FloatArray | None = None
    ) -> list[list[dict[str, Any]]]:
        idx = self.column_index_[part]
        names = [self.columns_[i] for i in idx]
        cats = {j: self.categories_[n] for j, n in enumerate(names) if n in self.categories_}
        if contribs is None:
            contribs = self._contributions(part, M)
        return top_reasons(contribs, M[:, idx], names, cats, self.phrasebook_, top_k=top_k)

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
        contribs = {p: self._contributions(p, M) for p in PARTS} if reasons else {}
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
        """Total gain per feature for each model ("fit", "interest"[, "joint"])."""
        return {
            part: dict(
                zip(
                    booster.feature_name(),
                    (float(v) for v in booster.feature_importance(importance_type="gain")),
                    strict=True,
                )
            )
            for part, booster in self.boosters_.items()
        }
