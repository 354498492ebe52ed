"""Metrics for a scored test window: discrimination, calibration, lift, quadrant win rates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from data_contracts.vocab import QUADRANTS
from models.baselines import BASELINE_NAMES

FloatArray = npt.NDArray[np.float64]

# The scorer's three probabilities as run metrics name them, the combined one first.
SCORER_MODELS: tuple[str, ...] = ("combined", "fit", "interest")
ORACLE = "oracle"  # the generator's true probabilities, on generated data only
MODEL_NAMES: tuple[str, ...] = (*SCORER_MODELS, *BASELINE_NAMES, ORACLE)

METRIC_NAMES: tuple[str, ...] = (
    "roc_auc",
    "pr_auc",
    "brier",
    "ece",
    "lift_top10",
    "capture_top10",
)


def rank_auc(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """ROC AUC from mid-ranks (ties count half), the same value as scikit-learn's, without
    its checks: the leakage guard and the verdicts compute many on one window."""
    y_arr = np.asarray(y, dtype=float)
    n_won = float(y_arr.sum())
    n_lost = len(y_arr) - n_won
    if n_won == 0 or n_lost == 0:
        return float("nan")
    ranks = rankdata(np.asarray(p, dtype=float))
    return float((ranks[y_arr == 1].sum() - n_won * (n_won + 1) / 2) / (n_won * n_lost))


def _bins(
    y: npt.ArrayLike, p: npt.ArrayLike, bins: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(mean predicted, observed win rate, count) of equal-count bins of predicted probability,
    in numpy: the verdicts' bootstrap bins a window hundreds of times."""
    y_arr = np.asarray(y, dtype=float)
    p_arr = np.asarray(p, dtype=float)
    n = len(y_arr)
    if n == 0:
        empty = np.zeros(0)
        return empty, empty, empty
    k = min(bins, n)
    order = np.argsort(p_arr, kind="stable")
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1  # the sizes np.array_split gives
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    counts = sizes.astype(float)
    predicted = np.add.reduceat(p_arr[order], starts) / counts
    observed = np.add.reduceat(y_arr[order], starts) / counts
    return predicted, observed, counts


def calibration_bins(y: npt.ArrayLike, p: npt.ArrayLike, bins: int = 10) -> pd.DataFrame:
    """Equal-count bins of predicted probability: mean predicted, observed win rate, count.

    Equal-count bins keep every bin populated when win rates are low, where equal-width
    bins would put nearly all leads in the first one. The report's calibration table and the
    logged ECE both come from here.
    """
    predicted, observed, counts = _bins(y, p, bins)
    return pd.DataFrame(
        {"predicted": predicted, "observed": observed, "n": counts.astype(int)},
        columns=["predicted", "observed", "n"],
    )


def expected_calibration_error(y: npt.ArrayLike, p: npt.ArrayLike, *, bins: int = 10) -> float:
    """Count-weighted mean |observed − predicted| over `calibration_bins`."""
    predicted, observed, counts = _bins(y, p, bins)
    if len(counts) == 0:
        return float("nan")
    return float((counts * np.abs(observed - predicted)).sum() / counts.sum())


def gain_steps(y: npt.ArrayLike, p: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Rows and wins reached after each group of tied scores, best score first (from 0).

    Working leads best-score first is only defined between groups of equal scores; inside a
    group nobody can say who comes first, so every lead in it counts for the group's average.
    `wins_in_top` interpolates linearly inside a group, which is exactly that average.
    """
    y_arr = np.asarray(y, dtype=float)
    p_arr = np.asarray(p, dtype=float)
    if len(p_arr) == 0:
        return np.zeros(1), np.zeros(1)
    order = np.argsort(-p_arr, kind="stable")
    scores = p_arr[order]
    new_group = np.empty(len(scores), dtype=bool)
    new_group[0] = True
    np.not_equal(scores[1:], scores[:-1], out=new_group[1:])
    starts = np.flatnonzero(new_group)
    ends = np.append(starts[1:], len(scores)).astype(float)
    wins = np.cumsum(np.add.reduceat(y_arr[order], starts))
    return np.concatenate([[0.0], ends]), np.concatenate([[0.0], wins])


def wins_in_top(y: npt.ArrayLike, p: npt.ArrayLike, k: npt.ArrayLike) -> FloatArray:
    """Wins among the `k` best-scored rows (k may be fractional), ties sharing their average."""
    rows, wins = gain_steps(y, p)
    return np.asarray(np.interp(np.asarray(k, dtype=float), rows, wins), dtype=np.float64)


def lift_and_capture(y: np.ndarray, p: np.ndarray, share: float = 0.1) -> tuple[float, float]:
    """Win rate in the top share over the overall rate, and the share of all wins caught there.

    Tied scores share their average, so the answer never depends on row order: a constant
    score has lift 1.0 (to rounding) whatever the order.
    """
    y = np.asarray(y, dtype=float)
    if len(y) == 0 or y.sum() == 0:
        return float("nan"), float("nan")
    k = len(y) * share
    caught = float(wins_in_top(y, p, k)) / y.sum()
    return caught / share, caught


def binary_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """All headline metrics of one model on one fold."""
    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    both_classes = len(np.unique(y)) == 2
    lift, capture = lift_and_capture(y, p)
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both_classes else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both_classes else float("nan"),
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
        "ece": expected_calibration_error(y, p),
        "lift_top10": lift,
        "capture_top10": capture,
    }


def quadrant_table(quadrants: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Share of leads, wins, win rate per quadrant, in the policy's order."""
    frame = pd.DataFrame({"quadrant": np.asarray(quadrants, dtype=object), "won": np.asarray(y)})
    grouped = frame.groupby("quadrant")["won"].agg(["size", "sum", "mean"])
    grouped = grouped.reindex(list(QUADRANTS)).fillna(0.0)
    grouped.columns = pd.Index(["leads", "wins", "win_rate"])
    grouped["share"] = grouped["leads"] / max(len(frame), 1)
    return grouped[["leads", "share", "wins", "win_rate"]]


def unseen_summary(unseen: Sequence[Sequence[str]], y: npt.ArrayLike) -> dict[str, Any]:
    """Test leads holding a category the training window never held (`"column=value"`
    flags per lead): how many, how they won beside the rest, and which columns."""
    y_arr = np.asarray(y, dtype=float)
    flagged = np.fromiter((len(u) > 0 for u in unseen), dtype=bool, count=len(y_arr))
    columns: dict[str, int] = {}
    for flags in unseen:
        for column in {str(f).split("=", 1)[0] for f in flags}:
            columns[column] = columns.get(column, 0) + 1
    n = int(flagged.sum())
    return {
        "leads": len(y_arr),
        "unseen": n,
        "share": n / len(y_arr) if len(y_arr) else 0.0,
        "win_rate_unseen": float(y_arr[flagged].mean()) if n else None,
        "win_rate_seen": float(y_arr[~flagged].mean()) if n < len(y_arr) else None,
        "columns": dict(sorted(columns.items(), key=lambda kv: -kv[1])),
    }


def metrics_by_model(y: np.ndarray, probabilities: dict[str, np.ndarray]) -> dict[str, Any]:
    """{model: {metric: value}} for each named probability column."""
    return {name: binary_metrics(y, p) for name, p in probabilities.items()}


def flatten_metrics(prefix: str, table: dict[str, dict[str, float]]) -> dict[str, float]:
    """`{model: {metric: v}}` → `{f"{prefix}_{model}_{metric}": v}`, finite values only."""
    flat: dict[str, float] = {}
    for model, metrics in table.items():
        for metric, value in metrics.items():
            if value is not None and np.isfinite(value):
                flat[f"{prefix}_{model}_{metric}"] = float(value)
    return flat
