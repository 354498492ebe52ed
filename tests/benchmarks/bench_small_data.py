"""Small data: which learner family each amount of data gets, and how the served model does
beside the baselines and the oracle. Run by hand; prints tables, asserts nothing.

    python tests/benchmarks/bench_small_data.py                          # 50..5,000 wins, 5 seeds
    python tests/benchmarks/bench_small_data.py --wins 50 200 --seeds 2  # a quick look
    python tests/benchmarks/bench_small_data.py --shared ../shared/data  # the public datasets
    python tests/benchmarks/bench_small_data.py --out runs.csv           # every run's record
    python tests/benchmarks/bench_small_data.py --tables runs.csv        # tables of saved runs
    python tests/benchmarks/bench_small_data.py --first-seed 3 --seeds 2 # seeds 3 and 4 only

`--out` appends each run's record as soon as it is done, so a run stopped part-way still
leaves its records; the order is seed by seed (every size of one seed, then the next).

Generated data: per seed one large generated dataset, prepared once as `handoff train`
prepares it; its labelled leads are then subsampled at random (so every window keeps its
span of time, as a smaller company's CRM would) until the training window holds about the
target number of wins, split by time again and handed to `fit_and_evaluate`, the same pure
step `handoff train` runs. The public datasets are subsampled the same way.

Per run: the family serving the combined score, its test AUC and ECE, the best baseline
(and the best *other* one, the gate's, when the chosen family is a baseline's twin), the
oracle, whether the choice was the best family on test (every family refitted for the
combined score, `LeadScorer.refit_family`), and the paired DeLong 95% interval of the
served model's test AUC minus the best baseline's: "within the noise" means that interval
reaches zero or above. The interval's width, per size, is where verdicts stop meaning
anything; `training.sample_size` keeps the minimum and the crossover read from here.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from sklearn.metrics import roc_auc_score  # noqa: E402

from data_contracts.mapping import shipped_mapping  # noqa: E402
from data_contracts.synthetic import generate_to_folder  # noqa: E402
from models.baselines import BASELINE_NAMES  # noqa: E402
from models.learners import BASELINE_TWINS, FAMILIES  # noqa: E402
from training.fit_evaluate import fit_and_evaluate  # noqa: E402
from training.prepare import TrainingData, prepare_training_data  # noqa: E402
from training.split import time_ordered_split  # noqa: E402
from training.verdict import auc_difference  # noqa: E402

WINS = (50, 100, 200, 500, 1_000, 5_000)
SHARED_WINS = (100, 500)
SHARED = ("leads_x_education", "uci_bank_marketing")
WINS_PER_LEAD = 0.031  # training-window wins per generated lead (60/20/20 split), measured


def subsample(data: TrainingData, wins: int, seed: int) -> TrainingData:
    """The prepared data with its labelled leads thinned at random to about `wins` wins in
    the training window, split by time again (the oracle follows the rows)."""
    full_wins = int(data.y[data.split.train].sum())
    share = min(1.0, wins / max(full_wins, 1))
    rng = np.random.default_rng([seed, wins])
    keep = np.flatnonzero(rng.random(len(data.y)) < share) if share < 1 else np.arange(len(data.y))
    snapshot = data.snapshot.iloc[keep]
    oracle = None
    if data.oracle is not None:
        truth = pd.read_parquet(data.data_dir / "truth.parquet", columns=["lead_id", "p_win"])
        oracle_all = truth.set_index("lead_id")["p_win"].reindex(data.X.index[keep])
        oracle = oracle_all.to_numpy(dtype=float)
    split = time_ordered_split(snapshot)
    return replace(
        data,
        X=data.X.iloc[keep],
        y=data.y[keep],
        snapshot=snapshot,
        split=split,
        oracle=None if oracle is None else oracle[split.test],
    )


def run_once(data: TrainingData, wins: int, seed: int, label: str) -> dict[str, Any]:
    """One subsample through `fit_and_evaluate`, with every family's test AUC beside it."""
    sub = subsample(data, wins, seed)
    started = time.perf_counter()
    candidate = fit_and_evaluate(sub)
    seconds = time.perf_counter() - started
    X_tr, y_tr = sub.fold("train")
    X_val, y_val = sub.fold("val")
    X_te, y_te = sub.fold("test")
    scorer = candidate.scorer
    choice = scorer.choices_["combined"]
    m = candidate.test_metrics
    baselines = {b: m[b]["roc_auc"] for b in BASELINE_NAMES}
    best = max(baselines, key=lambda b: baselines[b])
    twin = BASELINE_TWINS.get(choice.chosen)
    others = {b: v for b, v in baselines.items() if b != twin}
    best_other = max(others, key=lambda b: others[b])
    learners, idx = scorer.refit_family(X_tr, y_tr, X_val, y_val, "combined")
    M_te, _ = scorer._encoded(X_te)
    family_auc = {f: float(roc_auc_score(y_te, m.raw(M_te[:, idx]))) for f, m in learners.items()}
    served = candidate.test_probabilities["combined"]
    difference = auc_difference(y_te, served, candidate.test_probabilities[best])
    low, high = difference.low, difference.high
    record: dict[str, Any] = {
        "data": label,
        "target_wins": wins,
        "seed": seed,
        "train_wins": int(y_tr.sum()),
        "val_wins": int(y_val.sum()),
        "val_leads": len(y_val),
        "test_wins": int(y_te.sum()),
        "chosen": choice.chosen,
        "runner_up": choice.runner_up,
        "chosen_fit": scorer.choices_["fit"].chosen,
        "chosen_interest": scorer.choices_["interest"].chosen,
        "auc": m["combined"]["roc_auc"],
        "ece": m["combined"]["ece"],
        "best_baseline": best,
        "best_baseline_auc": baselines[best],
        "gate_baseline": best_other,
        "gate_baseline_auc": others[best_other],
        "oracle_auc": m["oracle"]["roc_auc"] if "oracle" in m else np.nan,
        "diff_low": low,
        "diff_high": high,
        "choice_best_on_test": family_auc[choice.chosen] >= max(family_auc.values()) - 1e-12,
        "seconds": seconds,
        **{f"val_{f}": a for f, a in choice.val_auc.items()},
        **{f"test_{f}": a for f, a in family_auc.items()},
        **{f"test_{b}": v for b, v in baselines.items()},
    }
    print(
        f"  {label} wins~{wins} seed {seed}: {record['train_wins']} train wins, "
        f"{choice.chosen} (runner-up {choice.runner_up}) AUC {record['auc']:.4f} "
        f"ECE {record['ece']:.4f}; best baseline {best} {baselines[best]:.4f}; "
        f"{seconds:.1f} s",
        flush=True,
    )
    return record


def _chosen(series: pd.Series) -> str:
    return ", ".join(f"{f} {n}" for f, n in Counter(series).most_common())


def summary_table(runs: pd.DataFrame) -> str:
    """One markdown row per (data, target wins)."""
    head = (
        "| data | wins (target) | train wins | test wins | chosen family (combined) | test AUC | "
        "ECE | best baseline | served − best baseline | within noise or better | "
        "ahead of every baseline | oracle | gap to oracle | choice best on test | "
        "95% interval of the difference (mean width) |"
    )
    lines = [head, "|" + "|".join("---" for _ in range(head.count("|") - 1)) + "|"]
    for (data, wins), g in runs.groupby(["data", "target_wins"], sort=False):
        bests = Counter(g["best_baseline"]).most_common(1)[0][0]
        diff = g["auc"] - g["best_baseline_auc"]
        within = int((g["diff_high"] >= 0).sum())
        ahead = int((diff > 0).sum())
        oracle = g["oracle_auc"].mean()
        gap = (g["oracle_auc"] - g["auc"]).mean()
        lines.append(
            f"| {data} | {wins:,} | {g['train_wins'].mean():.0f} | {g['test_wins'].mean():.0f} | "
            f"{_chosen(g['chosen'])} | {g['auc'].mean():.4f} ± {g['auc'].std(ddof=0):.4f} | "
            f"{g['ece'].mean():.4f} | {bests} {g['best_baseline_auc'].mean():.4f} | "
            f"{diff.mean():+.4f} | {within}/{len(g)} | {ahead}/{len(g)} | "
            + (f"{oracle:.4f} | {gap:+.4f} | " if np.isfinite(oracle) else "- | - | ")
            + f"{int(g['choice_best_on_test'].sum())}/{len(g)} | "
            f"{(g['diff_high'] - g['diff_low']).mean():.4f} |"
        )
    return "\n".join(lines)


def family_table(runs: pd.DataFrame) -> str:
    """Mean test AUC of every family (refitted for the combined score) per size."""
    cols = [f"test_{f}" for f in FAMILIES]
    head = "| data | wins (target) | " + " | ".join(FAMILIES) + " | logistic regression baseline |"
    lines = [head, "|" + "|".join("---" for _ in range(head.count("|") - 1)) + "|"]
    for (data, wins), g in runs.groupby(["data", "target_wins"], sort=False):
        cells = " | ".join(f"{g[c].mean():.4f}" for c in cols)
        lines.append(f"| {data} | {wins:,} | {cells} | {g['test_baseline_logreg'].mean():.4f} |")
    return "\n".join(lines)


def keep(record: dict[str, Any], out: Path | None) -> dict[str, Any]:
    """Append one run's record to `out` (CSV, header on the first) as soon as it exists."""
    if out is not None:
        pd.DataFrame([record]).to_csv(out, mode="a", header=not out.exists(), index=False)
    return record


def generated_runs(
    wins: list[int], seeds: range, work: Path, out: Path | None
) -> list[dict[str, Any]]:
    records = []
    n_leads = int(max(wins) / WINS_PER_LEAD * 1.1)
    for seed in seeds:
        folder = work / f"generated-{seed}"
        started = time.perf_counter()
        generate_to_folder(n_leads=n_leads, seed=seed, out_dir=folder)
        data = prepare_training_data(folder)
        print(
            f"seed {seed}: {n_leads:,} leads generated and prepared in "
            f"{time.perf_counter() - started:.0f} s "
            f"({int(data.y[data.split.train].sum()):,} training wins in all)",
            flush=True,
        )
        records += [keep(run_once(data, w, seed, "generated"), out) for w in wins]
    return records


def shared_runs(
    shared: Path, wins: list[int], seeds: range, out: Path | None
) -> list[dict[str, Any]]:
    records = []
    for name in SHARED:
        data = prepare_training_data(shared / name, mapping=shipped_mapping(name))
        records += [keep(run_once(data, w, seed, name), out) for w in wins for seed in seeds]
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wins", type=int, nargs="*", default=list(WINS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="to split seeds over runs")
    parser.add_argument("--shared", type=Path, help="../shared/data: the public datasets")
    parser.add_argument("--shared-wins", type=int, nargs="*", default=list(SHARED_WINS))
    parser.add_argument("--no-generated", action="store_true")
    parser.add_argument("--out", type=Path, help="append every run's record (CSV)")
    parser.add_argument("--tables", type=Path, help="print the tables of a saved --out CSV")
    args = parser.parse_args()
    if args.tables:
        print_tables(pd.read_csv(args.tables))
        return
    if hasattr(os, "nice") and os.nice(0) == 0:
        os.nice(10)
    records: list[dict[str, Any]] = []
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    with tempfile.TemporaryDirectory(prefix="bench-small-") as tmp:
        if not args.no_generated and args.wins:
            records += generated_runs(sorted(args.wins), seeds, Path(tmp), args.out)
        if args.shared:
            records += shared_runs(args.shared, sorted(args.shared_wins), seeds, args.out)
    print_tables(pd.DataFrame(records))


def print_tables(runs: pd.DataFrame) -> None:
    print("\n" + summary_table(runs))
    print("\nMean test AUC of every family for the combined score:\n" + family_table(runs))


if __name__ == "__main__":
    main()
