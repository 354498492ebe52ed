"""A scikit-learn logistic regression over the scorer's encoded matrix, scored in numpy.

The trees and a linear model see the same encoded features; where the truth is close to
additive in log-odds (small data, or a generator built that way), the linear model is the
better-specified of the two and the combined score should not throw that away. Fitting uses
scikit-learn; scoring is table look-ups and one dot product, so the single-lead path stays
in microseconds (no sklearn pipeline per request).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

FloatArray = npt.NDArray[np.float64]


def row_dot(A: FloatArray, w: FloatArray) -> FloatArray:
    """`A @ w`, summed in the same order for every row whatever the number of rows.

    Why not `@`: BLAS picks its kernel by shape, so one lead scored alone and the same lead
    in a batch came out different in the last bit; answers must not depend on batch size.
    Numpy's row sums are pairwise per row only on row-major data, hence the copy.
    """
    rows = np.ascontiguousarray(A, dtype=np.float64)  # a column-ordered A sums in another order
    return np.asarray((rows * w).sum(axis=1), dtype=np.float64)


# Standardised numerics are clipped so a value far outside training (drift) cannot swing
# the log-odds without bound.
CLIP = 5.0


class LinearPart:
    """One-hot categoricals (plus a missing slot) and standardised numerics with missing flags."""

    def __init__(self, *, C: float = 1.0, max_iter: int = 2000) -> None:
        self.C = C
        self.max_iter = max_iter

    def fit(
        self,
        M: FloatArray,
        y: npt.ArrayLike,
        *,
        categorical: Sequence[int],
        n_categories: Sequence[int],
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
        model = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(
            design, np.asarray(y, dtype=int)
        )
        coef = np.asarray(model.coef_[0], dtype=float)
        self.intercept_ = float(model.intercept_[0])
        self.tables_: list[FloatArray] = []
        at = 0
        for k in self.n_categories_:
            self.tables_.append(coef[at : at + k + 1])
            at += k + 1
        n_num = len(self.numeric_)
        self.numeric_coef_ = coef[at : at + n_num]
        self.missing_coef_ = coef[at + n_num :]
        return self

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

    def decision(self, M: FloatArray) -> FloatArray:
        """Log-odds per row: look-ups for categoricals, a dot product for numerics."""
        out = np.full(len(M), self.intercept_, dtype=float)
        for table, j, k in zip(self.tables_, self.categorical_, self.n_categories_, strict=True):
            out += table[self._codes(M, j, k)]
        out += row_dot(self._numeric(M), self.numeric_coef_)
        missing = np.isnan(M[:, self.numeric_])[:, self.has_missing_]
        out += row_dot(missing.astype(float), self.missing_coef_)
        return out
