"""Baselines the scorer must beat: what a CRM does out of the box, and a plain logistic model.

All three take any feature frame (contract features or a mapping's `x_` extras), use the
columns that exist, and expose `fit(X, y) -> self` and `predict_proba(X) -> (n,)` — the
positive-class (win) probability as a 1-D array, unlike scikit-learn's (n, 2), because every
caller wants P(win) only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

FloatArray = npt.NDArray[np.float64]


def split_columns(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(numeric, categorical) columns; object, string, category and bool count as categorical."""
    numeric: list[str] = []
    categorical: list[str] = []
    for col in X.columns:
        dtype = X[col].dtype
        if pd.api.types.is_bool_dtype(dtype):
            categorical.append(str(col))
        elif pd.api.types.is_numeric_dtype(dtype):
            numeric.append(str(col))
        elif (
            isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_string_dtype(dtype)
            or pd.api.types.is_object_dtype(dtype)
        ):
            categorical.append(str(col))
    return numeric, categorical


def _as_str(X: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Categoricals as plain object strings with None for missing (what the encoders expect)."""
    out = pd.DataFrame(index=X.index)
    for col in columns:
        s = X[col].astype(object)
        out[col] = s.where(s.notna(), None).map(lambda v: None if v is None else str(v))
    return out


class LogisticBaseline(BaseEstimator):  # type: ignore[misc]
    """One-hot categoricals + median-imputed, scaled numerics into a logistic regression."""

    def __init__(self, *, C: float = 1.0, max_iter: int = 2000, min_frequency: int = 10) -> None:
        self.C = C
        self.max_iter = max_iter
        self.min_frequency = min_frequency

    def fit(self, X: pd.DataFrame, y: npt.ArrayLike) -> LogisticBaseline:
        self.numeric_columns_, self.categorical_columns_ = split_columns(X)
        transformers: list[tuple[str, Any, list[str]]] = []
        if self.numeric_columns_:
            numeric = make_pipeline(
                SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
            )
            transformers.append(("num", numeric, self.numeric_columns_))
        if self.categorical_columns_:
            onehot = make_pipeline(
                SimpleImputer(strategy="constant", fill_value="missing"),
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist", min_frequency=self.min_frequency
                ),
            )
            transformers.append(("cat", onehot, self.categorical_columns_))
        self.pipeline_ = Pipeline(
            [
                ("prep", ColumnTransformer(transformers)),
                ("lr", LogisticRegression(C=self.C, max_iter=self.max_iter)),
            ]
        )
        self.pipeline_.fit(self._frame(X), np.asarray(y, dtype=int))
        return self

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        frame = _as_str(X, self.categorical_columns_)
        for col in self.numeric_columns_:
            frame[col] = pd.to_numeric(X[col], errors="coerce").astype(float)
        return frame

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """P(win) per row, shape (n,)."""
        return np.asarray(self.pipeline_.predict_proba(self._frame(X))[:, 1], dtype=float)


class NaiveBayesBaseline(BaseEstimator):  # type: ignore[misc]
    """Odoo-style predictive lead scoring: per-value win frequencies combined under independence.

    Numerics are cut into training-quantile bins; each (column, value) gets Laplace-smoothed
    frequencies among won and lost leads; the log-likelihood ratios add to the prior log-odds.
    Missing is its own value; values unseen in training contribute nothing.
    """

    def __init__(self, *, n_bins: int = 5, alpha: float = 1.0) -> None:
        self.n_bins = n_bins
        self.alpha = alpha

    def _tokens(self, X: pd.DataFrame, col: str) -> npt.NDArray[Any]:
        if col in self.edges_:
            values = pd.to_numeric(X[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            bins = np.searchsorted(self.edges_[col], values, side="right").astype(object)
            bins[np.isnan(values)] = "missing"
            return np.asarray(bins, dtype=object)
        s = X[col].astype(object)
        return np.asarray(s.where(s.notna(), "missing").map(str), dtype=object)

    def fit(self, X: pd.DataFrame, y: npt.ArrayLike) -> NaiveBayesBaseline:
        labels = np.asarray(y, dtype=int)
        numeric, categorical = split_columns(X)
        self.columns_ = numeric + categorical
        self.edges_: dict[str, FloatArray] = {}
        for col in numeric:
            values = pd.to_numeric(X[col], errors="coerce").dropna().to_numpy(dtype=float)
            qs = (
                np.quantile(values, np.linspace(0, 1, self.n_bins + 1)[1:-1]) if len(values) else []
            )
            self.edges_[col] = np.unique(np.asarray(qs, dtype=float))
        n_won, n_lost = float(labels.sum()), float((1 - labels).sum())
        self.prior_log_odds_ = float(np.log((n_won + self.alpha) / (n_lost + self.alpha)))
        self.log_ratios_: dict[str, dict[Any, float]] = {}
        for col in self.columns_:
            tokens = pd.Series(self._tokens(X, col))
            won = tokens[labels == 1].value_counts()
            lost = tokens[labels == 0].value_counts()
            values = won.index.union(lost.index)
            k = len(values)
            won, lost = won.reindex(values, fill_value=0), lost.reindex(values, fill_value=0)
            ratio = np.log((won + self.alpha) / (n_won + self.alpha * k)) - np.log(
                (lost + self.alpha) / (n_lost + self.alpha * k)
            )
            self.log_ratios_[col] = {v: float(r) for v, r in ratio.items()}
        return self

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """P(win) per row, shape (n,)."""
        total = np.full(len(X), self.prior_log_odds_)
        for col in self.columns_:
            if col not in X.columns:
                continue
            mapped = pd.Series(self._tokens(X, col)).map(self.log_ratios_[col])
            total += mapped.fillna(0.0).to_numpy(dtype=float)
        return np.asarray(1.0 / (1.0 + np.exp(-total)), dtype=np.float64)


# Pardot-style hand-set behaviour points per event, matched against column names.
DEFAULT_POINTS: dict[str, float] = {
    "demo_request": 25.0,
    "free_trial": 25.0,
    "contact_us": 20.0,
    "pricing_page": 10.0,
    "webinar_attended": 10.0,
    "content_download": 5.0,
    "tradeshow_visit": 5.0,
    "webinar_registered": 3.0,
    "email_click": 3.0,
    "web_visit": 1.0,
    "email_open": 0.5,
    "unsubscribe": -25.0,
}
_POINT_BANDS = np.array([0.0, 10.0, 30.0, 60.0])  # <0 | 0-9 | 10-29 | 30-59 | 60+
_SENIOR = ("director", "vp", "c_level")


def _pick(columns: Sequence[str], needle: str) -> str | None:
    """The count-like column for one event type (prefer a 30-day count, then any count)."""
    hits = [c for c in columns if needle in c.lower() and "since" not in c.lower()]
    for pref in ("30d", "count", ""):
        for c in hits:
            if pref in c.lower():
                return c
    return None


class PointsBaseline(BaseEstimator):  # type: ignore[misc]
    """Pardot-style: behaviour points (hand-set) × letter grade A–D (fit), then band win rate.

    Points: `points` per event (capped at `cap` events per type), minus `inactivity_penalty`
    after `inactive_days` without activity. Grade: one step each for a senior title, a named
    account, a corporate email and a company of at least `big_company` employees. The
    probability of a (grade, points band) cell is its training win rate, shrunk toward the
    overall rate by `smoothing` pseudo-leads. Columns that match no rule are ignored.
    """

    def __init__(
        self,
        *,
        points: dict[str, float] | None = None,
        cap: float = 5.0,
        inactive_days: float = 30.0,
        inactivity_penalty: float = 10.0,
        big_company: float = 200.0,
        smoothing: float = 20.0,
    ) -> None:
        self.points = points
        self.cap = cap
        self.inactive_days = inactive_days
        self.inactivity_penalty = inactivity_penalty
        self.big_company = big_company
        self.smoothing = smoothing

    def _bind(self, columns: Sequence[str]) -> None:
        table = self.points if self.points is not None else DEFAULT_POINTS
        bound = {event: _pick(columns, event) for event in table}
        self.point_columns_ = {c: table[e] for e, c in bound.items() if c is not None}
        lower = {c.lower(): c for c in columns}
        self.inactivity_column_ = next(
            (c for lc, c in lower.items() if "since" in lc and ("activ" in lc or "last" in lc)),
            None,
        )
        self.seniority_column_ = next((c for lc, c in lower.items() if "seniority" in lc), None)
        self.named_column_ = next((c for lc, c in lower.items() if "named_account" in lc), None)
        self.email_column_ = next(
            (
                c
                for lc, c in lower.items()
                if "corporate" in lc or "free_mail" in lc or "freemail" in lc
            ),
            None,
        )
        self.size_column_ = next((c for lc, c in lower.items() if "employee" in lc), None)

    @staticmethod
    def _num(X: pd.DataFrame, col: str) -> FloatArray:
        s = X[col]
        if pd.api.types.is_bool_dtype(s.dtype):
            s = s.astype("Float64")
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    def behaviour_points(self, X: pd.DataFrame) -> FloatArray:
        """Pardot-style score per lead."""
        total = np.zeros(len(X))
        for col, pts in self.point_columns_.items():
            total += pts * np.minimum(np.nan_to_num(self._num(X, col)), self.cap)
        if self.inactivity_column_ is not None:
            days = self._num(X, self.inactivity_column_)
            total -= self.inactivity_penalty * (
                np.nan_to_num(days, nan=np.inf) > self.inactive_days
            )
        return total

    def grade(self, X: pd.DataFrame) -> npt.NDArray[np.str_]:
        """Letter grade A (best) to D from fit attributes."""
        steps = np.zeros(len(X), dtype=int)
        if self.seniority_column_ is not None:
            steps += X[self.seniority_column_].astype(object).isin(_SENIOR).to_numpy()
        if self.named_column_ is not None:
            steps += np.nan_to_num(self._num(X, self.named_column_)) > 0
        if self.email_column_ is not None:
            flag = np.nan_to_num(self._num(X, self.email_column_)) > 0
            steps += ~flag if "free" in self.email_column_.lower() else flag
        if self.size_column_ is not None:
            size = self._num(X, self.size_column_)
            limit = (
                np.log(self.big_company) if "log" in self.size_column_.lower() else self.big_company
            )
            steps += np.nan_to_num(size) >= limit
        return np.asarray(["D", "C", "B", "A"], dtype=str)[np.clip(steps - 1, 0, 3)]

    def _bands(self, X: pd.DataFrame) -> npt.NDArray[Any]:
        band = np.searchsorted(_POINT_BANDS, self.behaviour_points(X), side="right")
        return np.char.add(self.grade(X), band.astype(str))

    def fit(self, X: pd.DataFrame, y: npt.ArrayLike) -> PointsBaseline:
        labels = np.asarray(y, dtype=float)
        self._bind([str(c) for c in X.columns])
        self.win_rate_ = float(labels.mean())
        frame = pd.DataFrame({"band": self._bands(X), "y": labels})
        stats = frame.groupby("band")["y"].agg(["sum", "count"])
        rate = (stats["sum"] + self.smoothing * self.win_rate_) / (stats["count"] + self.smoothing)
        self.band_win_rate_ = {str(k): float(v) for k, v in rate.items()}
        return self

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """P(win) per row, shape (n,): the training win rate of the lead's grade/points band."""
        bands = pd.Series(self._bands(X))
        rates = bands.map(self.band_win_rate_).fillna(self.win_rate_)
        return np.asarray(rates.to_numpy(dtype=float), dtype=np.float64)


Baseline = LogisticBaseline | NaiveBayesBaseline | PointsBaseline


# The baselines' names, as run metrics and reports spell them (`test_<name>_roc_auc`).
BASELINE_NAMES: tuple[str, ...] = ("baseline_logreg", "baseline_naive_bayes", "baseline_points")


def make_baselines() -> dict[str, Baseline]:
    """The unfitted baselines every evaluation sets beside the models, by metric prefix."""
    fitted: tuple[Baseline, ...] = (LogisticBaseline(), NaiveBayesBaseline(), PointsBaseline())
    return dict(zip(BASELINE_NAMES, fitted, strict=True))
