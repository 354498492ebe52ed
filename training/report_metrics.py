"""Small pure functions behind the review report's curves and drift table.

Headline metrics (AUC, ECE, lift@10) live in `training.evaluate`; these add what a
report draws: the cumulative gain curve and PSI between two samples (calibration bins are
`training.evaluate.calibration_bins`, the same binning as the logged ECE).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from training.evaluate import wins_in_top

FloatArray = npt.NDArray[np.float64]
PSI_EPSILON = 1e-4


def gain_curve(
    y: npt.ArrayLike, p: npt.ArrayLike, points: int = 101
) -> tuple[FloatArray, FloatArray]:
    """(share of leads worked, share of all wins caught) when working leads best-score first.

    Tied scores share their average (`training.evaluate.wins_in_top`), as the logged lift
    and capture do, so the value at 10% equals the logged capture@10 whatever the row order.
    """
    y_arr = np.asarray(y, dtype=float)
    x = np.linspace(0.0, 1.0, points)
    if len(y_arr) == 0 or y_arr.sum() == 0:
        return x, np.full_like(x, np.nan)
    return x, wins_in_top(y_arr, p, x * len(y_arr)) / y_arr.sum()


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


def psi_table(reference: pd.DataFrame, current: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """PSI per shared column, worst first, with the usual stable / moderate / major label."""
    rows = []
    for column in reference.columns:
        if column in current.columns and column not in ("lead_id", "label"):
            value = psi(reference[column], current[column], bins)
            rows.append({"feature": column, "psi": value, "shift": psi_label(value)})
    table = pd.DataFrame(rows, columns=["feature", "psi", "shift"])
    return table.sort_values("psi", ascending=False, na_position="last").reset_index(drop=True)


def psi_label(value: float) -> str:
    """The conventional reading of a PSI value."""
    if not np.isfinite(value):
        return "n/a"
    if value < 0.1:
        return "stable"
    if value < 0.25:
        return "moderate"
    return "major"


def weekly_rate(count: int, start: pd.Timestamp, end: pd.Timestamp) -> float:
    """`count` events spread over [start, end], per 7 days (at least one day's span)."""
    days = max((pd.Timestamp(end) - pd.Timestamp(start)).total_seconds() / 86_400, 1.0)
    return float(count) / days * 7.0
