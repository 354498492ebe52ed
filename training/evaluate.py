"""Metrics for a scored test window: discrimination, calibration, lift, quadrant win rates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from data_contracts.vocab import QUADRANTS
from models.baselines import BASELINE_NAMES
from models.learners import BASELINE_TWINS

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


def calibration_bins(y: npt.ArrayLike, p: npt.ArrayLike, bins: int = 10) -> pd.DataFrame:
    """Equal-count bins of predicted probability: mean predicted, observed win rate, count.

    Equal-count bins keep every bin populated when win rates are low, where equal-width
    bins would put nearly all leads in the first one. The report's calibration table and the
    logged ECE both come from here.
    """
    y_arr = np.asarray(y, dtype=float)
    p_arr = np.asarray(p, dtype=float)
    rows = []
    if len(y_arr):
        order = np.argsort(p_arr, kind="stable")
        for chunk in np.array_split(order, min(bins, len(y_arr))):
            if len(chunk):
                rows.append(
                    {
                        "predicted": float(p_arr[chunk].mean()),
                        "observed": float(y_arr[chunk].mean()),
                        "n": len(chunk),
                    }
                )
    return pd.DataFrame(rows, columns=["predicted", "observed", "n"])


def expected_calibration_error(y: npt.ArrayLike, p: npt.ArrayLike, *, bins: int = 10) -> float:
    """Count-weighted mean |observed − predicted| over `calibration_bins`."""
    table = calibration_bins(y, p, bins)
    if table.empty:
        return float("nan")
    gap = (table["observed"] - table["predicted"]).abs()
    return float((table["n"] * gap).sum() / table["n"].sum())


def top_share_mask(p: np.ndarray, share: float) -> np.ndarray:
    """The `share` highest-scored rows (ties broken by position, so exactly k rows)."""
    k = max(1, round(len(p) * share))
    order = np.argsort(-np.asarray(p, dtype=float), kind="stable")
    mask = np.zeros(len(p), dtype=bool)
    mask[order[:k]] = True
    return mask


def lift_and_capture(y: np.ndarray, p: np.ndarray, share: float = 0.1) -> tuple[float, float]:
    """Win rate in the top share over the overall rate, and the share of all wins caught there."""
    y = np.asarray(y, dtype=float)
    if len(y) == 0 or y.sum() == 0:
        return float("nan"), float("nan")
    mask = top_share_mask(p, share)
    lift = y[mask].mean() / y.mean()
    capture = y[mask].sum() / y.sum()
    return float(lift), float(capture)


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


def gate_baselines(
    metrics: Mapping[str, float], family: str | None
) -> tuple[dict[str, float], str | None]:
    """The baselines' logged test AUCs the promotion gate compares the served model with,
    and the one left out: a served family that is also a baseline (logistic, frequency)
    is judged against the *other* baselines, not against its own twin. The twin stays in
    every table as a baseline."""
    twin = BASELINE_TWINS.get(family or "")
    baselines = {
        name: float(metrics[key])
        for name in BASELINE_NAMES
        if (key := f"test_{name}_roc_auc") in metrics and name != twin
    }
    return baselines, twin if twin and f"test_{twin}_roc_auc" in metrics else None
