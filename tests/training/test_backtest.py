"""Rolling-origin backtest: folds never see their future; every model and baseline is scored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.backtest import (
    BASELINES,
    MODELS,
    backtest_folder,
    fold_verdicts,
    rolling_folds,
    summarise,
)


def test_rolling_folds_are_time_ordered_and_cover_the_tail() -> None:
    times = pd.Series(pd.date_range("2025-01-01", periods=1000, freq="h", tz="UTC"))
    times = times.sample(frac=1.0, random_state=0).reset_index(drop=True)  # order must not matter
    folds = rolling_folds(times, n_folds=4, first_origin=0.5, cal_share=0.2)
    assert len(folds) == 4
    values = times.to_numpy()
    tested = np.concatenate([f.test for f in folds])
    assert len(tested) == len(np.unique(tested)) == 500  # the last half, each row once
    for fold in folds:
        assert values[fold.train].max() < values[fold.cal].min()
        assert values[fold.cal].max() < values[fold.test].min()
        assert len(fold.train) + len(fold.cal) >= 500  # expanding: all the past


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from data_contracts.synthetic import generate_to_folder

    folder = tmp_path_factory.mktemp("bt") / "crm"
    generate_to_folder(n_leads=4_000, seed=11, out_dir=folder)
    return folder


def test_backtest_scores_every_model_and_baseline_per_fold(generated: Path) -> None:
    table = backtest_folder(generated, n_folds=2, first_origin=0.6)
    assert set(table["model"]) == {*MODELS, *BASELINES}
    assert table.groupby("fold")["model"].count().eq(len(MODELS) + len(BASELINES)).all()
    assert table["roc_auc"].between(0, 1).all()
    starts = pd.to_datetime(table.drop_duplicates("fold")["test_start"])
    assert starts.is_monotonic_increasing
    summary = summarise(table)
    combined = summary.set_index("model").loc["combined"]
    # Generated leads carry a learnable, stable signal: the backtest must find it.
    assert combined["mean_auc"] > 0.7, summary
    assert combined["folds"] == table["fold"].nunique()
    assert ((table["auc_low"] < table["roc_auc"]) & (table["roc_auc"] < table["auc_high"])).all()
    verdicts = fold_verdicts(table)
    assert len(verdicts) == table["fold"].nunique()
    assert verdicts["verdict"].isin(["better", "ties", "worse"]).all()  # never chance here


def test_backtest_on_fold_hears_each_fold_in_order_skipped_ones_too(generated: Path) -> None:
    from training.backtest import FoldDone, backtest
    from training.prepare import labelled_training_frame

    X, y, times, features, _ = labelled_training_frame(generated)
    stamps = times.reset_index(drop=True)
    first = rolling_folds(stamps, n_folds=2, first_origin=0.6)[0]
    y = y.copy()
    y[first.train] = 0  # fold 1 has no wins to learn from: it must be skipped, and said so
    heard: list[FoldDone] = []
    table = backtest(
        X,
        y,
        times,
        fit_columns=features.fit_columns,
        interest_columns=features.interest_columns,
        categorical_columns=features.categorical_columns,
        n_folds=2,
        first_origin=0.6,
        on_fold=heard.append,
    )
    assert [(d.fold, d.n_folds, d.skipped) for d in heard] == [(1, 2, True), (2, 2, False)]
    assert set(table["fold"]) == {2}
    row = table.iloc[0]
    done = heard[1]
    assert (done.test_start, done.test_end) == (row["test_start"], row["test_end"])
    assert (done.n_train, done.n_test) == (row["n_train"], row["n_test"])
    assert heard[0].n_test == len(first.test) and done.seconds > 0
