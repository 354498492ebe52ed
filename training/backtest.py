"""Rolling-origin backtest: retrain at several origins, each scored on the window after it.

Why: one 60/20/20 split judges a model on a single future window. Where the world moves
(UCI bank: a 4.8% win rate in the 2008 training window, 31% in the 2010 test window), that
one window says more about the drift than about the learner. Moro et al. evaluated that
data with rolling windows for this reason. Each fold here trains on everything before its
origin (the last `cal_share` of it calibrating), and is tested on the next slice of time;
no fold ever sees its own future. It reuses the training pipeline's models and baselines.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.feature_sets import DEFAULT_HALF_LIFE_DAYS
from models.baselines import make_baselines
from models.scorer import LeadScorer
from training.evaluate import binary_metrics
from training.leakage import LeakageReport
from training.verdict import auc_interval, verdict_for

MODELS: tuple[str, ...] = ("combined", "fit", "interest")
BASELINES: tuple[str, ...] = tuple(make_baselines())


@dataclass(frozen=True)
class Fold:
    """Positional indices of one origin's train, calibration and test rows."""

    train: npt.NDArray[np.intp]
    cal: npt.NDArray[np.intp]
    test: npt.NDArray[np.intp]


@dataclass(frozen=True)
class FoldDone:
    """One fold finished (or skipped), for a caller to show progress while the rest run."""

    fold: int  # 1-based, as the table's `fold` column
    n_folds: int
    test_start: str
    test_end: str
    n_train: int  # train + calibration rows
    n_test: int
    seconds: float
    skipped: bool  # a window lacked wins or losses: the fold has no rows in the table


OnFold = Callable[[FoldDone], None]


class _Window(TypedDict):
    """What a fold tested on: in each table row, and in its `FoldDone`."""

    test_start: str
    test_end: str
    n_train: int
    n_test: int


def rolling_folds(
    times: pd.Series, *, n_folds: int = 4, first_origin: float = 0.5, cal_share: float = 0.2
) -> list[Fold]:
    """Origins at equal steps from the `first_origin` quantile of time to the end.

    Fold k trains on rows before origin k (its last `cal_share` calibrating) and tests on
    the rows from origin k to origin k+1. Rows are cut by time, so ties stay together.
    """
    if n_folds < 1 or not 0 < first_origin < 1 or not 0 < cal_share < 1:
        raise ValueError("need n_folds >= 1, 0 < first_origin < 1 and 0 < cal_share < 1")
    values = pd.to_datetime(times, utc=True).astype("int64").to_numpy()
    ordered = np.sort(values)
    n = len(values)
    edges = np.linspace(first_origin, 1.0, n_folds + 1)
    cuts = [ordered[min(int(n * q), n - 1)] for q in edges[:-1]] + [ordered[-1] + 1]
    folds: list[Fold] = []
    for start, end in itertools.pairwise(cuts):
        before = np.flatnonzero(values < start)
        if len(before) < 10:
            continue
        cal_cut = np.sort(values[before])[int(len(before) * (1 - cal_share))]
        folds.append(
            Fold(
                train=np.flatnonzero(values < cal_cut),
                cal=np.flatnonzero((values >= cal_cut) & (values < start)),
                test=np.flatnonzero((values >= start) & (values < end)),
            )
        )
    return folds


def backtest(
    X: pd.DataFrame,
    y: npt.ArrayLike,
    times: pd.Series,
    *,
    fit_columns: Sequence[str],
    interest_columns: Sequence[str],
    categorical_columns: Sequence[str],
    n_folds: int = 4,
    first_origin: float = 0.5,
    scorer_params: dict[str, Any] | None = None,
    on_fold: OnFold | None = None,
) -> pd.DataFrame:
    """One row per (fold, model or baseline): test window, rows, win rate, AUC with its
    DeLong interval, lift@10, and the fold's verdict on the combined model (`verdict`:
    against chance and the fold's best baseline, `training.verdict`).

    A fold whose train, calibration or test window lacks wins or losses is skipped (and
    so absent from the table), as `handoff train` would refuse it. `on_fold` hears of
    each fold as it ends: a backtest takes minutes, and the library prints nothing.
    """
    y_all = np.asarray(y, dtype=int)
    rows: list[dict[str, Any]] = []
    stamps = pd.to_datetime(times, utc=True).reset_index(drop=True)
    folds = rolling_folds(stamps, n_folds=n_folds, first_origin=first_origin)
    for k, fold in enumerate(folds, start=1):
        started = time.perf_counter()
        window = stamps.iloc[fold.test]
        where: _Window = {
            "test_start": str(window.min()),
            "test_end": str(window.max()),
            "n_train": len(fold.train) + len(fold.cal),
            "n_test": len(fold.test),
        }
        parts = {
            name: y_all[idx]
            for name, idx in (("train", fold.train), ("cal", fold.cal), ("test", fold.test))
        }
        skipped = any(len(np.unique(v)) < 2 for v in parts.values())
        if skipped:
            if on_fold is not None:
                seconds = time.perf_counter() - started
                on_fold(FoldDone(k, len(folds), **where, seconds=seconds, skipped=True))
            continue
        X_tr, X_cal, X_te = (X.iloc[idx] for idx in (fold.train, fold.cal, fold.test))
        scorer = LeadScorer(**(scorer_params or {})).fit(
            X_tr,
            parts["train"],
            X_cal=X_cal,
            y_cal=parts["cal"],
            fit_columns=fit_columns,
            interest_columns=interest_columns,
            categorical_columns=categorical_columns,
        )
        probs = scorer.predict_parts(X_te)
        scored = {m: probs[f"{m}_probability"].to_numpy() for m in MODELS}
        for name, baseline in make_baselines().items():
            scored[name] = baseline.fit(X_tr, parts["train"]).predict_proba(X_te)
        verdict = verdict_for(parts["test"], scored["combined"], {b: scored[b] for b in BASELINES})
        for name, p in scored.items():
            metrics = binary_metrics(parts["test"], np.asarray(p, dtype=float))
            interval = auc_interval(parts["test"], p)
            rows.append(
                {
                    "fold": k,
                    **where,
                    "test_win_rate": float(parts["test"].mean()),
                    "model": name,
                    "roc_auc": metrics["roc_auc"],
                    "auc_low": interval.low,
                    "auc_high": interval.high,
                    "lift_top10": metrics["lift_top10"],
                    "verdict": verdict.word,
                }
            )
        if on_fold is not None:
            seconds = time.perf_counter() - started
            on_fold(FoldDone(k, len(folds), **where, seconds=seconds, skipped=False))
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and worst AUC and mean lift@10 over folds, per model, best mean AUC first."""
    if table.empty:
        return pd.DataFrame(columns=["model", "folds", "mean_auc", "min_auc", "mean_lift_top10"])
    out = table.groupby("model").agg(
        folds=("fold", "nunique"),
        mean_auc=("roc_auc", "mean"),
        min_auc=("roc_auc", "min"),
        mean_lift_top10=("lift_top10", "mean"),
    )
    return out.sort_values("mean_auc", ascending=False).reset_index()


def fold_verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """Per fold: the combined model's AUC interval and its verdict."""
    columns = ["fold", "test_start", "n_test", "auc", "auc_low", "auc_high", "verdict"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    combined = table[table["model"] == "combined"].rename(columns={"roc_auc": "auc"})
    return combined[columns].reset_index(drop=True)


def backtest_folder(
    data_dir: Path,
    *,
    mapping: Path | None = None,
    horizon_days: int = 180,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    n_folds: int = 4,
    first_origin: float = 0.5,
    on_fold: OnFold | None = None,
    on_guard: Callable[[LeakageReport], None] | None = None,
) -> pd.DataFrame:
    """`backtest` on a CRM folder, prepared exactly as `handoff train` prepares it
    (contracts, labels with censoring, point-in-time features, the leakage guard on the rows
    before the first origin); `on_guard` hears what the guard found before any fold runs."""
    from training.prepare import labelled_training_frame

    X, y, times, features, leakage = labelled_training_frame(
        data_dir,
        mapping=mapping,
        horizon_days=horizon_days,
        half_life_days=half_life_days,
        guard_share=first_origin,
    )
    if on_guard is not None:
        on_guard(leakage)
    return backtest(
        X,
        y,
        times,
        fit_columns=features.fit_columns,
        interest_columns=features.interest_columns,
        categorical_columns=features.categorical_columns,
        n_folds=n_folds,
        first_origin=first_origin,
        on_fold=on_fold,
    )
