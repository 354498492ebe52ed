"""Probability calibration of a raw (log-odds) model score: isotonic or Platt.

Calibrators are stored as plain arrays/floats so scoring one lead is a single `np.interp`
or sigmoid, with no scikit-learn call in the hot path. Both keep the model's order of leads
(`TIE_BREAK`), so calibration never changes a ranking or its AUC. `choose_calibration` picks the method
by out-of-fold ECE on the calibration fold (fitting and judging on the same rows would always
favour isotonic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

Method = Literal["isotonic", "platt"]

# Isotonic calibration is a step function: leads the model ranks apart would share a step's
# probability, and the ranking BDRs work from (and its AUC) would lose that order. A convex
# mix with this much of the raw score's sigmoid keeps the model's order inside every step
# and moves no probability by more than this.
TIE_BREAK = 1e-6
FloatArray = npt.NDArray[np.float64]


def equal_count_bands(
    probability: npt.ArrayLike, bands: int, *, best_first: bool = False
) -> npt.NDArray[np.int64]:
    """Band 0..`bands`-1 of each lead, every band the same number of leads give or take one:
    by rising probability, or with the highest first when `best_first`; tied leads keep their
    order. Training's AE-feedback bands and the monitor's calibration bands split alike."""
    p = np.asarray(probability, dtype=float)
    order = np.argsort(-p if best_first else p, kind="stable")
    band = np.empty(len(p), dtype=np.int64)
    band[order] = np.arange(len(p)) * bands // max(len(p), 1)
    return band


def expected_calibration_error(y: npt.ArrayLike, p: npt.ArrayLike, n_bins: int = 10) -> float:
    """ECE with equal-width probability bins, weighted by bin size."""
    yy = np.asarray(y, dtype=float)
    pp = np.asarray(p, dtype=float)
    if len(yy) == 0:
        return float("nan")
    bins = np.minimum((pp * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        mask = bins == b
        total += mask.sum() * abs(pp[mask].mean() - yy[mask].mean())
    return float(total / len(yy))


def sigmoid(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: FloatArray, eps: float = 1e-4) -> FloatArray:
    q = np.clip(p, eps, 1 - eps)
    return np.log(q / (1 - q))


@dataclass(frozen=True)
class Calibrator:
    """A fitted monotone map from raw score to probability."""

    method: Method
    x: FloatArray  # isotonic thresholds (x) or [slope] for Platt
    y: FloatArray  # isotonic values (y) or [intercept] for Platt

    @classmethod
    def fit(cls, raw: FloatArray, y: FloatArray, method: Method) -> Calibrator:
        if method == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
            return cls("isotonic", np.asarray(iso.X_thresholds_), np.asarray(iso.y_thresholds_))
        lr = LogisticRegression(C=1e4).fit(raw.reshape(-1, 1), y)
        return cls("platt", np.asarray([lr.coef_[0, 0]]), np.asarray([lr.intercept_[0]]))

    def predict(self, raw: FloatArray) -> FloatArray:
        if self.method == "isotonic":
            steps = np.interp(raw, self.x, self.y)
            return (1.0 - TIE_BREAK) * steps + TIE_BREAK * sigmoid(raw)
        return sigmoid(self.x[0] * raw + self.y[0])


def halves(n: int, seed: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """A reproducible random split of `range(n)` in two halves (for cross-fitting)."""
    perm = np.random.default_rng(seed).permutation(n)
    return perm[: n // 2], perm[n // 2 :]


def choose_calibration(
    raw: FloatArray, y: FloatArray, method: Method | Literal["auto"], seed: int
) -> tuple[Calibrator, FloatArray, dict[str, float]]:
    """Fit the calibrator on all of (raw, y); also return out-of-fold probabilities and ECEs.

    With "auto", each method is cross-fitted on two halves and the lower mean ECE wins. The
    out-of-fold probabilities (for the chosen method) feed the combiner without leakage.
    """
    a, b = halves(len(y), seed)
    methods: tuple[Method, ...] = ("isotonic", "platt") if method == "auto" else (method,)
    oof: dict[str, FloatArray] = {}
    eces: dict[str, float] = {}
    for m in methods:
        out = np.empty(len(y))
        for train, test in ((a, b), (b, a)):
            if len(np.unique(y[train])) < 2:
                out[test] = y[train].mean() if len(train) else 0.5
            else:
                out[test] = Calibrator.fit(raw[train], y[train], m).predict(raw[test])
        oof[m] = out
        eces[m] = expected_calibration_error(y, out)
    best: Method = min(methods, key=lambda m: eces[m])
    return Calibrator.fit(raw, y, best), oof[best], eces


WILSON_Z = 1.96  # 95% intervals


def wilson(successes: int, n: int, z: float = WILSON_Z) -> tuple[float, float]:
    """The Wilson score interval of a win rate: honest at small n and at rates near 0 or 1.
    Here because the monitor (serving) and the account report (training) both state one."""
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))
