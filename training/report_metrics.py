"""Small pure functions behind the review report's curves and drift table.

Headline metrics (AUC, ECE, lift@10) live in `training.evaluate`; these add what a
report draws: the cumulative gain curve and PSI between two samples (calibration bins are
`training.evaluate.calibration_bins`, the same binning as the logged ECE).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from models.drift import psi, psi_label
from training.evaluate import wins_in_top

__all__ = ["gain_curve", "psi", "psi_label", "psi_table", "weekly_rate"]

FloatArray = npt.NDArray[np.float64]


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


def psi_table(reference: pd.DataFrame, current: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """PSI per shared column, worst first, with the usual stable / moderate / major label."""
    rows = []
    for column in reference.columns:
        if column in current.columns and column not in ("lead_id", "label"):
            value = psi(reference[column], current[column], bins)
            rows.append({"feature": column, "psi": value, "shift": psi_label(value)})
    table = pd.DataFrame(rows, columns=["feature", "psi", "shift"])
    return table.sort_values("psi", ascending=False, na_position="last").reset_index(drop=True)


def weekly_rate(count: int, start: pd.Timestamp, end: pd.Timestamp) -> float:
    """`count` events spread over [start, end], per 7 days (at least one day's span)."""
    days = max((pd.Timestamp(end) - pd.Timestamp(start)).total_seconds() / 86_400, 1.0)
    return float(count) / days * 7.0
