"""Population stability index: how far a sample has moved from a reference sample.

Training's report compares a candidate with the champion's training profile and serving's
monitor compares what it served with the champion's test window; neither may import the
other, so the measure both read lives here.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
PSI_EPSILON = 1e-4
# PSI readings: below MODERATE stable, below MAJOR moderate, above a major shift.
PSI_MODERATE = 0.1
PSI_MAJOR = 0.25


def psi(expected: pd.Series, actual: pd.Series, bins: int = 10) -> float:
    """Population stability index of `actual` against the reference sample `expected`.

    Numeric columns use the reference's deciles as bin edges (missing values get their own
    bin); categorical ones use the categories. Proportions are floored at `PSI_EPSILON` so an
    empty bin gives a large, finite value. Rule of thumb: < 0.1 stable, 0.1–0.25 moderate,
    > 0.25 a major shift.
    """
    ref, cur = _binned(expected, actual, bins)
    if ref.sum() == 0 or cur.sum() == 0:
        return float("nan")
    e = np.maximum(ref / ref.sum(), PSI_EPSILON)
    a = np.maximum(cur / cur.sum(), PSI_EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def _binned(expected: pd.Series, actual: pd.Series, bins: int) -> tuple[FloatArray, FloatArray]:
    numeric = pd.api.types.is_numeric_dtype(expected) and not isinstance(
        expected.dtype, pd.CategoricalDtype
    )
    if numeric and not pd.api.types.is_bool_dtype(expected):
        ref = pd.to_numeric(expected, errors="coerce").to_numpy(dtype=float)
        cur = pd.to_numeric(actual, errors="coerce").to_numpy(dtype=float)
        finite = ref[np.isfinite(ref)]
        if len(finite) == 0:
            edges = np.array([-np.inf, np.inf])
        else:
            inner = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
            edges = np.concatenate([[-np.inf], inner, [np.inf]])

        def counts(v: FloatArray) -> FloatArray:
            ok = np.isfinite(v)
            hist = np.histogram(v[ok], bins=edges)[0].astype(float)
            return np.append(hist, float((~ok).sum()))

        return counts(ref), counts(cur)
    ref_s = expected.astype("object").where(expected.notna(), "<missing>").astype(str)
    cur_s = actual.astype("object").where(actual.notna(), "<missing>").astype(str)
    levels = sorted(set(ref_s) | set(cur_s))
    ref_c = np.asarray(ref_s.value_counts().reindex(levels, fill_value=0), dtype=np.float64)
    cur_c = np.asarray(cur_s.value_counts().reindex(levels, fill_value=0), dtype=np.float64)
    return ref_c, cur_c


def psi_label(value: float) -> str:
    """The conventional reading of a PSI value."""
    if not np.isfinite(value):
        return "n/a"
    if value < PSI_MODERATE:
        return "stable"
    if value < PSI_MAJOR:
        return "moderate"
    return "major"
