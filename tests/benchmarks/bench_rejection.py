"""AE rejections as extra negative evidence (`handoff train --rejection-as-negative`): test
AUC with and without, on the same leads, per seed. Run by hand; prints a table, asserts nothing.

    python tests/benchmarks/bench_rejection.py                  # 8,000 leads, seeds 0..4
    python tests/benchmarks/bench_rejection.py --leads 4000 --seeds 2

The generator's known rejection pattern (`data_contracts.synthetic_outcomes.lifecycle`): a
lead that reaches a meeting is accepted with a probability rising with its true odds of
winning, and a rejected lead never wins; so rejections are losses the label already counts,
concentrated among the weaker leads. Per seed the folder is prepared once, as `handoff train`
prepares it, and `fit_and_evaluate` (the same pure step) runs twice: without the option and
with it (each rejected training lead counted twice). The test window is the same leads both
times. Shown: test AUC and ECE of the combined model each way, the paired DeLong 95% interval
of the difference (with minus without), the score's AUC at telling accepted from rejected
test leads, and the training rows the option added.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from data_contracts.synthetic import generate_to_folder  # noqa: E402
from training.fit_evaluate import fit_and_evaluate  # noqa: E402
from training.prepare import prepare_training_data  # noqa: E402
from training.verdict import auc_difference  # noqa: E402


def one_seed(leads: int, seed: int, root: Path) -> dict[str, float]:
    folder = root / f"crm-{seed}"
    generate_to_folder(n_leads=leads, seed=seed, out_dir=folder)
    plain = prepare_training_data(folder)
    _, y_test = plain.fold("test")
    without = fit_and_evaluate(plain)
    with_it = fit_and_evaluate(replace(plain, rejection_as_negative=True))
    diff = auc_difference(
        y_test, with_it.test_probabilities["combined"], without.test_probabilities["combined"]
    )
    return {
        "seed": seed,
        "added_rows": with_it.n_rejection_extra,
        "n_train": len(plain.split.train),
        "auc_without": without.test_metrics["combined"]["roc_auc"],
        "auc_with": with_it.test_metrics["combined"]["roc_auc"],
        "diff": diff.estimate,
        "diff_low": diff.low,
        "diff_high": diff.high,
        "ece_without": without.test_metrics["combined"]["ece"],
        "ece_with": with_it.test_metrics["combined"]["ece"],
        "ae_auc_without": without.feedback["accept_auc"],
        "ae_auc_with": with_it.feedback["accept_auc"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=8_000)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-rejection-") as tmp:
        for seed in range(args.seeds):
            rows.append(one_seed(args.leads, seed, Path(tmp)))
            print(pd.DataFrame(rows[-1:]).round(4).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    print(f"\n{args.leads:,} generated leads per seed; with minus without, same test leads:")
    print(table.round(4).to_string(index=False))
    mean = table[["auc_without", "auc_with", "diff", "ece_without", "ece_with"]].mean()
    print("\nmean over seeds:\n" + mean.round(4).to_string())
    better = int((table["diff_low"] > 0).sum())
    worse = int((table["diff_high"] < 0).sum())
    print(
        f"seeds where the interval says better: {better}, worse: {worse}, "
        f"tie: {len(table) - better - worse} (of {len(table)})"
    )
    print(f"mean difference {np.mean(table['diff']):+.4f}")


if __name__ == "__main__":
    main()
