"""Do account features help the lead model, and what do they cost? Prints; asserts nothing.

    .venv/bin/python tests/benchmarks/bench_accounts.py                    # small, quick
    .venv/bin/python tests/benchmarks/bench_accounts.py --leads 20000 --seeds 0 1 2 \\
        --effects 0 0.8 --timing-leads 1000000 --timing-accounts 100000

Lift: generated folders whose wins do or do not depend on the buying group
(`generate_to_folder(buying_group_effect=...)`), the training pipeline up to the split
(`prepare_training_data`), then `LeadScorer` trained twice on the same time-ordered folds,
with and without `account_fit_v1` / `account_interest_v1` (each lead seen as of its own
snapshot). Per row: test AUC of the combined score with and without, the paired difference
with a bootstrap 95% interval, and the oracle's AUC (the generator's true p_win).

Timing: `account_features` beside `build_features` (the lead features) in the same run, on
the plain random frames of `bench_features.make_frames` with each lead given one of
`--timing-accounts` accounts (skewed: a few accounts hold many leads).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from bench_features import make_frames  # noqa: E402

from data_contracts.synthetic import generate_to_folder  # noqa: E402
from features.account_sets import ACCOUNT_FIT_V1, ACCOUNT_INTEREST_V1  # noqa: E402
from features.accounts import account_features  # noqa: E402
from features.build import build_features  # noqa: E402
from models.scorer import LeadScorer  # noqa: E402
from training.prepare import TrainingData, prepare_training_data  # noqa: E402


def _paired_interval(
    y: np.ndarray, a: np.ndarray, b: np.ndarray, n_boot: int = 300, seed: int = 0
) -> tuple[float, float, float]:
    """AUC(b) - AUC(a) on the same leads, with a bootstrap 95% interval."""
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        rows = rng.integers(0, len(y), len(y))
        if y[rows].min() == y[rows].max():
            continue
        diffs.append(roc_auc_score(y[rows], b[rows]) - roc_auc_score(y[rows], a[rows]))
    low, high = np.percentile(diffs, [2.5, 97.5])
    return roc_auc_score(y, b) - roc_auc_score(y, a), float(low), float(high)


def _fit_score(data: TrainingData, X: pd.DataFrame, with_accounts: bool) -> np.ndarray:
    """Test-fold combined probabilities of a scorer trained on the train/val folds of X."""
    f = data.features
    fit_cols, int_cols, cats = (
        list(f.fit_columns),
        list(f.interest_columns),
        list(f.categorical_columns),
    )
    if with_accounts:
        fit_cols += ACCOUNT_FIT_V1.columns
        int_cols += ACCOUNT_INTEREST_V1.columns
        cats += ACCOUNT_FIT_V1.categorical_columns
    cols = fit_cols + int_cols
    split = data.split
    scorer = LeadScorer().fit(
        X.iloc[split.train][cols],
        data.y[split.train],
        X_cal=X.iloc[split.val][cols],
        y_cal=data.y[split.val],
        fit_columns=fit_cols,
        interest_columns=int_cols,
        categorical_columns=cats,
    )
    parts = scorer.predict_parts(X.iloc[split.test][cols])
    return parts["combined_probability"].to_numpy()


def lift_row(n_leads: int, seed: int, effect: float, root: Path) -> None:
    folder = root / f"crm_{seed}_{effect:g}"
    generate_to_folder(n_leads, seed, folder, buying_group_effect=effect)
    started = time.perf_counter()
    data = prepare_training_data(folder)
    crm = data.crm
    snapshot = data.labels["snapshot_at"].reindex(crm.leads["lead_id"])
    acct = account_features(crm.leads, crm.events, crm.accounts, snapshot)
    X = data.X.join(acct.loc[data.X.index])
    test = data.split.test
    y = data.y[test]
    alone = _fit_score(data, X, with_accounts=False)
    with_acct = _fit_score(data, X, with_accounts=True)
    truth = pd.read_parquet(folder / "truth.parquet").set_index("lead_id")["p_win"]
    oracle = truth.reindex(X.index[test]).to_numpy()
    diff, low, high = _paired_interval(y, alone, with_acct)
    print(
        f"{effect:>6g} {seed:>4} {len(test):>6,} {int(y.sum()):>5} "
        f"{roc_auc_score(y, alone):>8.3f} {roc_auc_score(y, with_acct):>8.3f} "
        f"{diff:>+8.3f} [{low:+.3f}, {high:+.3f}] {roc_auc_score(y, oracle):>7.3f} "
        f"{time.perf_counter() - started:>6.1f}s",
        flush=True,
    )


def timing(n_leads: int, n_accounts: int, events_per_lead: float) -> None:
    leads, events, _, as_of = make_frames(n_leads, events_per_lead)
    rng = np.random.default_rng(1)
    pick = (n_accounts * rng.random(n_leads) ** 2).astype(np.int64)  # skewed, as generated
    ids = np.array([f"A{k:07d}" for k in range(n_accounts)], dtype=object)
    leads["account_id"] = pd.Series(ids[pick], dtype="str")
    accounts = pd.DataFrame(
        {
            "account_id": pd.Series(ids, dtype="str"),
            "employees": pd.array(rng.integers(1, 50_000, n_accounts), dtype="Int64"),
            "annual_revenue": rng.lognormal(15, 2, n_accounts),
            "is_named_account": rng.random(n_accounts) < 0.05,
            "abm_tier": pd.Series(np.where(rng.random(n_accounts) < 0.05, "tier_2", None)),
            "parent_account_id": None,
        }
    )
    print(
        f"\n{n_leads:,} leads, {len(events):,} events, {n_accounts:,} accounts "
        f"(largest holds {np.bincount(pick).max():,} leads); load {os.getloadavg()[0]:.1f}"
    )
    for label, build in (
        ("lead features (build_features)", lambda: build_features(leads, events, as_of)),
        (
            "account features (account_features)",
            lambda: account_features(leads, events, accounts, as_of),
        ),
    ):
        wall, cpu = time.perf_counter(), time.process_time()
        build()
        print(
            f"  {label:<38} {time.perf_counter() - wall:>7.1f}s wall "
            f"{time.process_time() - cpu:>7.1f}s CPU"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=8000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--effects", type=float, nargs="+", default=[0.0, 0.8])
    parser.add_argument("--timing-leads", type=int, default=100_000)
    parser.add_argument("--timing-accounts", type=int, default=10_000)
    parser.add_argument("--events-per-lead", type=float, default=20.0)
    parser.add_argument("--skip-lift", action="store_true")
    args = parser.parse_args()
    print(f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if not args.skip_lift:
        print(
            f"\nLead model test AUC, {args.leads:,} leads per folder (combined score)\n"
            "effect seed   test  wins    alone  +accts     diff  [95% interval]    oracle   time"
        )
        with tempfile.TemporaryDirectory() as tmp:
            for effect in args.effects:
                for seed in args.seeds:
                    lift_row(args.leads, seed, effect, Path(tmp))
    timing(args.timing_leads, args.timing_accounts, args.events_per_lead)


if __name__ == "__main__":
    main()
