"""Training acceptance figures: run by hand (and small in CI), prints numbers, asserts nothing.

    python tests/benchmarks/bench_train.py --leads 100000          # synthetic vs oracle
    python tests/benchmarks/bench_train.py --shared ../shared/data # the public datasets
    python tests/benchmarks/bench_train.py --data /tmp/gen1m       # an existing folder

Each run trains into a throwaway HANDOFF_HOME, so it never touches your real store.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from data_contracts.mapping import shipped_mapping
from data_contracts.synthetic import generate_to_folder
from models.settings import Settings
from training.train import TrainResult, run_training

BASELINES = ("baseline_logreg", "baseline_naive_bayes", "baseline_points")
SHARED = {
    "leads_x_education": "leads_x_education",
    "uci_bank_marketing": "uci_bank_marketing",
}


def acceptance(result: TrainResult) -> str:
    m = result.metrics
    combined = m["test_combined_roc_auc"]
    best_name = max(BASELINES, key=lambda b: m.get(f"test_{b}_roc_auc", 0.0))
    lines = [
        f"combined AUC {combined:.4f}; best baseline {best_name} {m[f'test_{best_name}_roc_auc']:.4f}",
        f"combined lift@10 {m['test_combined_lift_top10']:.2f}; "
        f"best baseline lift@10 {max(m.get(f'test_{b}_lift_top10', 0.0) for b in BASELINES):.2f}",
        f"combined ECE {m['test_combined_ece']:.4f}",
    ]
    for model in ("fit", "interest", "combined"):
        beats = all(m[f"test_{model}_roc_auc"] > m[f"test_{b}_roc_auc"] for b in BASELINES)
        lines.append(f"{model} beats every baseline on AUC: {beats}")
    if "test_oracle_roc_auc" in m:
        gap = m["test_oracle_roc_auc"] - combined
        lines.append(f"oracle AUC {m['test_oracle_roc_auc']:.4f}; gap {gap:+.4f} (target ≤ 0.02)")
    return "\n".join(lines)


def train_folder(data_dir: Path, mapping: Path | None = None) -> TrainResult:
    with tempfile.TemporaryDirectory() as home:
        start = time.perf_counter()
        result = run_training(data_dir, mapping=mapping, settings=Settings(home=Path(home)))
        print(result.summary_text())
        print(f"end to end {time.perf_counter() - start:.1f} s")
        print(acceptance(result))
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--shared", type=Path)
    args = parser.parse_args()
    if args.leads:
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp) / "crm"
            start = time.perf_counter()
            generate_to_folder(n_leads=args.leads, seed=args.seed, out_dir=data_dir)
            print(f"generated {args.leads:,} leads in {time.perf_counter() - start:.1f} s")
            train_folder(data_dir)
    if args.data:
        train_folder(args.data)
    if args.shared:
        for folder, mapping in SHARED.items():
            print(f"\n=== {folder}")
            train_folder(args.shared / folder, shipped_mapping(mapping))


if __name__ == "__main__":
    main()
