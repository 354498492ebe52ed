"""Do account features help the lead model, and what do they cost? Prints; asserts nothing.

    .venv/bin/python tests/benchmarks/bench_accounts.py                    # small, quick
    .venv/bin/python tests/benchmarks/bench_accounts.py --leads 20000 --seeds 0 1 2 \\
        --effects 0 0.8 --timing-leads 1000000 --timing-accounts 100000

Lift: generated folders whose wins do or do not depend on the buying group
(`generate_to_folder(buying_group_effect=...)`), the training pipeline up to the split
(`prepare_training_data`, with and without `account_features`: what `handoff train` and
`handoff train --no-account-features` prepare), then `LeadScorer` trained on each's
time-ordered folds (the same leads). Per row: test AUC of the combined score with and without, the paired difference
with a bootstrap 95% interval, and the oracle's AUC (the generator's true p_win).

Account model: the same folders' account rows (`features.account_rows`: one per account and
90-day cut-off, labelled by a win within 180 days, censored rows left out), split by cut-off
(60/20/20), scored by `fit_account_scorer`; beside it an account-level logistic regression on
the same columns and an oracle from the truth (1 - prod(1 - p_win) over the contacts created
before the horizon ends: it knows contacts the model cannot), and the test accounts the
proposed policy puts in sales_now with their win rate. The model's AUC minus the
logistic's on the same test rows carries the paired DeLong 95% interval
(`training.verdict.auc_difference`, the one the promotion gates use).

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
from features.account_rows import account_row_features, account_rows  # noqa: E402
from features.account_sets import ACCOUNT_FIT_V1  # noqa: E402
from features.accounts import account_features  # noqa: E402
from features.build import build_features  # noqa: E402
from models.account_scores import fit_account_scorer, score_accounts  # noqa: E402
from models.policy import propose_policy, to_score  # noqa: E402
from models.scorer import LeadScorer  # noqa: E402
from training.prepare import TrainingData, prepare_training_data  # noqa: E402
from training.verdict import auc_difference  # noqa: E402


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


def _fit_score(data: TrainingData) -> tuple[np.ndarray, np.ndarray]:
    """Test-fold combined probabilities of a scorer trained on the train/val folds, on the
    columns training prepared (with or without the account features), and which test leads
    the policy proposed on validation (as training proposes it) puts in sales_now."""
    f, split = data.features, data.split
    X_val, y_val = data.fold("val")
    scorer = LeadScorer().fit(
        data.X.iloc[split.train],
        data.y[split.train],
        X_cal=X_val,
        y_cal=y_val,
        fit_columns=f.fit_columns,
        interest_columns=f.interest_columns,
        categorical_columns=f.categorical_columns,
    )
    val = scorer.predict_parts(X_val)
    policy = propose_policy(
        to_score(val["fit_probability"]), to_score(val["interest_probability"]), y_val
    )
    scored = scorer.score_leads(data.X.iloc[split.test], policy, reasons=False)
    sales_now = (scored["quadrant"] == "sales_now").to_numpy()
    return scored["combined_probability"].to_numpy(), sales_now


def lift_row(n_leads: int, seed: int, effect: float, root: Path) -> None:
    folder = root / f"crm_{seed}_{effect:g}"
    generate_to_folder(n_leads, seed, folder, buying_group_effect=effect)
    started = time.perf_counter()
    with_data = prepare_training_data(folder)  # what `handoff train` prepares
    alone_data = prepare_training_data(folder, account_features=False)
    test = with_data.split.test
    assert with_data.X.index[test].equals(alone_data.X.index[alone_data.split.test])
    y = with_data.y[test]
    (alone, sn_alone), (with_acct, sn_with) = _fit_score(alone_data), _fit_score(with_data)
    truth = pd.read_parquet(folder / "truth.parquet").set_index("lead_id")["p_win"]
    oracle = truth.reindex(with_data.X.index[test]).to_numpy()
    diff, low, high = _paired_interval(y, alone, with_acct)
    print(
        f"{effect:>6g} {seed:>4} {len(test):>6,} {int(y.sum()):>5} "
        f"{roc_auc_score(y, alone):>8.3f} {roc_auc_score(y, with_acct):>8.3f} "
        f"{diff:>+8.3f} [{low:+.3f}, {high:+.3f}] {roc_auc_score(y, oracle):>7.3f} "
        f"{sn_alone.mean():>6.1%} {y[sn_alone].mean():>6.1%} "
        f"{sn_with.mean():>6.1%} {y[sn_with].mean():>6.1%} "
        f"{time.perf_counter() - started:>6.1f}s",
        flush=True,
    )


def _logistic_probabilities(
    X: pd.DataFrame, y: np.ndarray, train: slice, test: slice
) -> np.ndarray:
    """Test-row probabilities of an account-level logistic regression on the same columns."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    plain = pd.get_dummies(X, columns=ACCOUNT_FIT_V1.categorical_columns, dtype=float)
    model = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    )
    model.fit(plain.iloc[train], y[train])
    return np.asarray(model.predict_proba(plain.iloc[test])[:, 1])


def account_model_row(n_leads: int, seed: int, effect: float, root: Path) -> None:
    folder = root / f"acct_{seed}_{effect:g}"
    generate_to_folder(n_leads, seed, folder, buying_group_effect=effect)
    started = time.perf_counter()
    crm = prepare_training_data(folder).crm
    assert crm.accounts is not None
    rows = account_rows(crm.leads, crm.outcomes, crm.accounts, data_end=crm.data_end)
    rows = rows.loc[~rows["censored"]].reset_index(drop=True)
    X = account_row_features(rows, crm.leads, crm.events, crm.accounts)
    y = rows["label"].to_numpy(dtype=np.int64)
    n = len(rows)
    train, val, test = (
        slice(0, int(0.6 * n)),
        slice(int(0.6 * n), int(0.8 * n)),
        slice(int(0.8 * n), n),
    )
    scorer = fit_account_scorer(X.iloc[train], y[train], X_cal=X.iloc[val], y_cal=y[val])
    parts = scorer.predict_parts(X.iloc[val])
    policy = propose_policy(
        to_score(parts["fit_probability"]), to_score(parts["interest_probability"]), y[val]
    )
    scored = score_accounts(scorer, X.iloc[test], policy)
    model_auc = roc_auc_score(y[test], scored["combined_probability"])
    truth = pd.read_parquet(folder / "truth.parquet").set_index("lead_id")["p_win"]
    leads = crm.leads.assign(p=truth.reindex(crm.leads["lead_id"]).to_numpy())
    horizon_end = rows["as_of"] + pd.Timedelta(days=180)
    pairs = (
        rows[["account_id"]]
        .assign(end=horizon_end, row=np.arange(n))
        .merge(leads[["account_id", "created_at", "p"]], on="account_id")
    )
    pairs = pairs.loc[pairs["created_at"] < pairs["end"]]
    oracle = (
        1
        - np.exp(np.log1p(-pairs["p"].clip(upper=1 - 1e-9)).groupby(pairs["row"]).sum())
        .reindex(np.arange(n), fill_value=1.0)
        .to_numpy()
    )
    sales_now = (scored["quadrant"] == "sales_now").to_numpy()
    yt = y[test]
    logistic = _logistic_probabilities(X, y, train, test)
    diff = auc_difference(yt, scored["combined_probability"].to_numpy(), logistic)
    print(
        f"{effect:>6g} {seed:>4} {n:>7,} {test.stop - test.start:>6,} {int(yt.sum()):>5} "
        f"{model_auc:>7.3f} {roc_auc_score(yt, logistic):>8.3f} "
        f"{diff.estimate:>+7.3f} [{diff.low:+.3f}, {diff.high:+.3f}] "
        f"{roc_auc_score(yt, oracle[test]):>7.3f} {sales_now.mean():>7.1%} "
        f"{yt[sales_now].mean() if sales_now.any() else float('nan'):>7.1%} "
        f"{yt[~sales_now].mean():>7.1%} {time.perf_counter() - started:>6.1f}s",
        flush=True,
    )
    example = scored.iloc[int(np.argmax(scored["combined_probability"].to_numpy()))]
    print(
        f"          top account: {example['quadrant']}; {example['group_text']}; "
        f"missing: {example['missing_roles'] or 'none'}"
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
    parser.add_argument("--skip-account-model", action="store_true")
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args()
    print(f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if not args.skip_lift:
        print(
            f"\nLead model test AUC, {args.leads:,} leads per folder (combined score)\n"
            "effect seed   test  wins    alone  +accts     diff  [95% interval]    oracle "
            "sn(alone) win  sn(+accts) win   time"
        )
        with tempfile.TemporaryDirectory() as tmp:
            for effect in args.effects:
                for seed in args.seeds:
                    lift_row(args.leads, seed, effect, Path(tmp))
    if not args.skip_account_model:
        print(
            "\nAccount model test AUC (account rows every 90 days, 180-day horizon)\n"
            "effect seed    rows   test  wins   model logistic    diff  [95% DeLong]     "
            "oracle sales_now  win(sn) win(rest)   time"
        )
        with tempfile.TemporaryDirectory() as tmp:
            for effect in args.effects:
                for seed in args.seeds:
                    account_model_row(args.leads, seed, effect, Path(tmp))
    if not args.skip_timing:
        timing(args.timing_leads, args.timing_accounts, args.events_per_lead)


if __name__ == "__main__":
    main()
