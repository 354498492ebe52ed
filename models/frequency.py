"""A smoothed frequency model over the scorer's encoded matrix: Odoo's idea, scored in numpy.

Each feature value (a category, or one of a numeric's training-quantile bins; missing is a
value of its own) gets the log ratio of its Laplace-smoothed frequency among won and among
lost leads; a lead's log-odds is the prior plus its values' ratios. With a few dozen wins this
is often the best ranker there is: it estimates one number per value and nothing jointly.
The ratios are the per-feature contributions, so reasons work as for every other learner.
Values unseen in training (the encoder makes them missing) say what missing said.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.isotonic import IsotonicRegression

from models.linear import row_sum

FloatArray = npt.NDArray[np.float64]


class FrequencyTable:
    """Per-column log frequency ratios, with Laplace smoothing `alpha` and `n_bins` quantile
    bins for numerics. `nonnegative` columns get ratios that never fall as the value rises
    (weighted isotonic regression over the bins), so "more is better" signals stay so."""

    def __init__(self, *, alpha: float = 1.0, n_bins: int = 5) -> None:
        self.alpha = alpha
        self.n_bins = n_bins

    def fit(
        self,
        M: FloatArray,
        y: npt.ArrayLike,
        *,
        categorical: Sequence[int],
        n_categories: Sequence[int],
        nonnegative: Sequence[int] = (),
    ) -> FrequencyTable:
        labels = np.asarray(y, dtype=int)
        n_cat = dict(
            zip((int(j) for j in categorical), (int(k) for k in n_categories), strict=True)
        )
        self.n_columns_ = M.shape[1]
        # Per column: bin edges (numerics; None for categoricals) and the number of slots,
        # the last of which holds missing values.
        self.edges_: list[FloatArray | None] = []
        self.slots_: list[int] = []
        for j in range(M.shape[1]):
            if j in n_cat:
                self.edges_.append(None)
                self.slots_.append(n_cat[j] + 1)
                continue
            values = M[:, j][~np.isnan(M[:, j])]
            inner = np.linspace(0, 1, self.n_bins + 1)[1:-1]
            edges = np.unique(np.quantile(values, inner)) if len(values) else np.zeros(0)
            self.edges_.append(np.asarray(edges, dtype=np.float64))
            self.slots_.append(len(edges) + 2)
        n_won, n_lost = float(labels.sum()), float(len(labels) - labels.sum())
        self.prior_ = float(np.log((n_won + self.alpha) / (n_lost + self.alpha)))
        watched = {int(j) for j in nonnegative}
        self.tables_: list[FloatArray] = []
        for j in range(M.shape[1]):
            slots = self._slots(M, j)
            won = np.bincount(slots[labels == 1], minlength=self.slots_[j]).astype(float)
            lost = np.bincount(slots[labels == 0], minlength=self.slots_[j]).astype(float)
            k = float(np.count_nonzero(won + lost))
            ratio = np.log((won + self.alpha) / (n_won + self.alpha * k)) - np.log(
                (lost + self.alpha) / (n_lost + self.alpha * k)
            )
            ratio[(won + lost) == 0] = 0.0  # never seen in training: says nothing
            if j in watched and self.edges_[j] is not None:
                ratio = self._non_decreasing(ratio, won + lost)
            self.tables_.append(ratio)
        return self

    @staticmethod
    def _non_decreasing(ratio: FloatArray, counts: FloatArray) -> FloatArray:
        """The bins' ratios made non-decreasing (the missing slot stays as it is)."""
        bins = len(ratio) - 1
        seen = counts[:bins] > 0
        if seen.sum() < 2:
            return ratio
        out = ratio.copy()
        x = np.flatnonzero(seen).astype(float)
        iso = IsotonicRegression(increasing=True).fit(
            x, ratio[:bins][seen], sample_weight=counts[:bins][seen]
        )
        out[:bins] = np.interp(np.arange(bins, dtype=float), x, iso.predict(x))
        return out

    def _slots(self, M: FloatArray, j: int) -> npt.NDArray[np.intp]:
        col = M[:, j]
        missing = self.slots_[j] - 1
        edges = self.edges_[j]
        if edges is None:
            codes = np.where(np.isnan(col), missing, col)
            return np.clip(codes, 0, missing).astype(np.intp)
        slots = np.searchsorted(edges, col, side="right")
        return np.where(np.isnan(col), missing, slots).astype(np.intp)

    @property
    def bias_(self) -> float:
        """The prior log-odds of a win in training."""
        return self.prior_

    def contributions(self, M: FloatArray) -> FloatArray:
        """(n, columns) log frequency ratio of each row's value per column."""
        out = np.empty((len(M), self.n_columns_), dtype=np.float64)
        for j, table in enumerate(self.tables_):
            out[:, j] = table[self._slots(M, j)]
        return out

    def decision(self, M: FloatArray) -> FloatArray:
        """Log-odds per row: the prior plus every value's ratio."""
        return self.bias_ + row_sum(self.contributions(M))
