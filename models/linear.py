"""A regularised logistic regression over the scorer's encoded matrix, scored in numpy.

Where the truth is close to additive in log-odds (small data, or a generator built that
way), a linear model is the better-specified learner. Fitting is one bounded L-BFGS run
(scikit-learn's penalised objective, with bounds scikit-learn cannot set); scoring is
table look-ups and elementwise products, so the single-lead path stays in microseconds (no
sklearn pipeline per request). Every feature's share of the log-odds is its contribution:
a categorical's table entry, a numeric's coefficient times its standardised value (plus its
missing flag's weight), so reasons work exactly as for the trees.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit

FloatArray = npt.NDArray[np.float64]


def row_dot(A: FloatArray, w: FloatArray) -> FloatArray:
    """`A @ w`, summed in the same order for every row whatever the number of rows.

    Why not `@`: BLAS picks its kernel by shape, so one lead scored alone and the same lead
    in a batch came out different in the last bit; answers must not depend on batch size.
    Numpy's row sums are pairwise per row only on row-major data, hence the copy.
    """
    rows = np.ascontiguousarray(A, dtype=np.float64)  # a column-ordered A sums in another order
    return np.asarray((rows * w).sum(axis=1), dtype=np.float64)


def row_sum(A: FloatArray) -> FloatArray:
    """Row sums in the same order for every row whatever the number of rows (see `row_dot`)."""
    return np.asarray(np.ascontiguousarray(A, dtype=np.float64).sum(axis=1), dtype=np.float64)


# Standardised numerics are clipped so a value far outside training (drift) cannot swing
# the log-odds without bound.
CLIP = 5.0


class LinearPart:
    """One-hot categoricals (plus a missing slot) and standardised numerics with missing flags.

    `nonnegative` (matrix columns, numeric) keeps those coefficients >= 0, so more of a
    "more is better" signal never lowers the score.
    """

    def __init__(self, *, C: float = 1.0, max_iter: int = 2000, tol: float = 1e-4) -> None:
        self.C = C
        self.max_iter = max_iter
        self.tol = tol  # on the projected gradient of the mean loss, as scikit-learn's `tol`

    def fit(
        self,
        M: FloatArray,
        y: npt.ArrayLike,
        *,
        categorical: Sequence[int],
        n_categories: Sequence[int],
        nonnegative: Sequence[int] = (),
    ) -> LinearPart:
        self.categorical_ = [int(j) for j in categorical]
        self.n_categories_ = [int(k) for k in n_categories]
        cat_set = set(self.categorical_)
        self.numeric_ = [j for j in range(M.shape[1]) if j not in cat_set]
        num = M[:, self.numeric_]
        with np.errstate(all="ignore"):
            self.median_ = np.nan_to_num(np.nanmedian(num, axis=0)) if num.size else np.zeros(0)
        filled = np.where(np.isnan(num), self.median_, num)
        self.mean_ = filled.mean(axis=0) if len(filled) else np.zeros(len(self.numeric_))
        sd = filled.std(axis=0) if len(filled) else np.ones(len(self.numeric_))
        self.scale_ = np.where(sd > 0, sd, 1.0)
        self.has_missing_ = np.isnan(num).any(axis=0)
        design = self._design(M)
        n_cat = sum(k + 1 for k in self.n_categories_)
        watched = {n_cat + self.numeric_.index(j) for j in nonnegative if j in self.numeric_}
        coef, self.intercept_ = self._constrained(design, np.asarray(y, dtype=int), watched)
        self.tables_: list[FloatArray] = []
        at = 0
        for k in self.n_categories_:
            self.tables_.append(coef[at : at + k + 1])
            at += k + 1
        n_num = len(self.numeric_)
        self.numeric_coef_ = coef[at : at + n_num]
        self.missing_coef_ = np.zeros(n_num)
        self.missing_coef_[self.has_missing_] = coef[at + n_num :]
        return self

    def _constrained(
        self, design: npt.NDArray[np.float32], y: npt.NDArray[np.int_], watched: set[int]
    ) -> tuple[FloatArray, float]:
        """L2-penalised logistic coefficients over `design` (scikit-learn's objective with
        this `C`), a watched column's bounded below by zero.

        Why not scikit-learn: it cannot bound a coefficient, and dropping a column that came
        out negative, then refitting, took several fits per score and threw its signal away.
        """
        X = np.asarray(design, dtype=np.float64)
        target = np.asarray(y, dtype=np.float64)
        n, d = X.shape
        penalty = 1.0 / (self.C * max(n, 1))  # the mean loss, so tolerances mean the same at any n

        def loss_and_gradient(theta: FloatArray) -> tuple[float, FloatArray]:
            w, b = theta[:d], theta[d]
            z = X @ w + b
            loss = float(np.mean(np.logaddexp(0.0, z) - target * z) + 0.5 * penalty * (w @ w))
            residual = (expit(z) - target) / n
            return loss, np.append(X.T @ residual + penalty * w, residual.sum())

        bounds = [(0.0, None) if j in watched else (None, None) for j in range(d)]
        rate = float(np.clip(target.mean(), 1e-6, 1 - 1e-6))
        start = np.append(np.zeros(d), np.log(rate / (1 - rate)))
        result = minimize(
            loss_and_gradient,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[*bounds, (None, None)],
            options={"maxiter": self.max_iter, "gtol": self.tol},
        )
        return np.asarray(result.x[:d], dtype=np.float64), float(result.x[d])

    def _codes(self, M: FloatArray, j: int, k: int) -> npt.NDArray[np.intp]:
        col = M[:, j]
        return np.where(np.isnan(col), k, col).astype(np.intp)

    def _design(self, M: FloatArray) -> npt.NDArray[np.float32]:
        blocks: list[npt.NDArray[np.float32]] = []
        for j, k in zip(self.categorical_, self.n_categories_, strict=True):
            onehot = np.zeros((len(M), k + 1), dtype=np.float32)
            onehot[np.arange(len(M)), self._codes(M, j, k)] = 1.0
            blocks.append(onehot)
        blocks.append(self._numeric(M).astype(np.float32))
        blocks.append(np.isnan(M[:, self.numeric_])[:, self.has_missing_].astype(np.float32))
        return np.hstack(blocks) if blocks else np.zeros((len(M), 0), dtype=np.float32)

    def _numeric(self, M: FloatArray) -> FloatArray:
        num = M[:, self.numeric_]
        filled = np.where(np.isnan(num), self.median_, num)
        return np.clip((filled - self.mean_) / self.scale_, -CLIP, CLIP)

    @property
    def bias_(self) -> float:
        """The log-odds before any feature speaks: the intercept."""
        return float(self.intercept_)

    def contributions(self, M: FloatArray) -> FloatArray:
        """(n, columns) log-odds per feature, in M's column order; with `bias_` they sum to
        `decision`."""
        out = np.zeros((len(M), M.shape[1]), dtype=np.float64)
        for table, j, k in zip(self.tables_, self.categorical_, self.n_categories_, strict=True):
            out[:, j] = table[self._codes(M, j, k)]
        if self.numeric_:
            missing = np.isnan(M[:, self.numeric_])
            out[:, self.numeric_] = (
                self._numeric(M) * self.numeric_coef_ + missing * self.missing_coef_
            )
        return out

    def decision(self, M: FloatArray) -> FloatArray:
        """Log-odds per row: the bias plus every feature's contribution."""
        return self.bias_ + row_sum(self.contributions(M))
