"""What the leakage guard and the verdicts cost, and how steady the intervals are: prints
numbers, asserts nothing.

    python tests/benchmarks/bench_verdict.py --leads 4000 20000
    python tests/benchmarks/bench_verdict.py --leads 20000 --shared ../shared/data

For each data set: seconds spent in the guard and the verdict beside fitting the models and
baselines (the training phases `leakage`, `verdict`, `models`, `baselines`); then, on each
test window, the lift@10 and ECE interval ends and the ECE noise over five seeds at each
number of resamples (the spread says how many resamples the intervals need).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from data_contracts.mapping import shipped_mapping
from data_contracts.synthetic import generate_to_folder
from training.fit_evaluate import fit_and_evaluate
from training.phases import PhaseClock
from training.prepare import prepare_training_data
from training.verdict import RESAMPLES, bootstrap_lift_and_ece, ece_noise

SHARED = ("leads_x_education", "uci_bank_marketing")


def phases(name: str, data_dir: Path, mapping: Path | None) -> tuple[np.ndarray, np.ndarray]:
    clock = PhaseClock()
    data = prepare_training_data(data_dir, mapping=mapping, clock=clock)
    candidate = fit_and_evaluate(data, clock=clock)
    took = {str(r["phase"]): float(r["seconds"]) for r in clock.records}
    fitting = took["models"] + took["baselines"]
    added = took["leakage"] + took["verdict"]
    print(
        f"{name:<22} train {len(data.split.train):>7,}  test {len(data.split.test):>6,}  "
        f"guard {took['leakage']:5.2f}s  verdict {took['verdict']:5.2f}s  "
        f"models+baselines {fitting:6.2f}s  added {100 * added / fitting:4.1f}%"
    )
    y = data.fold("test")[1]
    return y, candidate.test_probabilities["combined"]


def steadiness(name: str, y: np.ndarray, p: np.ndarray, counts: list[int]) -> None:
    print(f"\n{name}: interval ends over 5 seeds on {len(y):,} test leads (min..max of each end)")
    for n in counts:
        ends = [bootstrap_lift_and_ece(y, p, n, seed=s) for s in range(5)]
        noise = [ece_noise(p, n, seed=s) for s in range(5)]

        def span(values: list[float]) -> str:
            return f"{min(values):.4f}..{max(values):.4f}"

        print(
            f"  {n:>4} resamples: lift@10 low {span([e[0].low for e in ends])} "
            f"high {span([e[0].high for e in ends])} | ECE low {span([e[1].low for e in ends])} "
            f"high {span([e[1].high for e in ends])} | ECE noise {span(noise)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, nargs="*", default=[4_000, 20_000])
    parser.add_argument("--shared", type=Path, default=None)
    parser.add_argument("--resamples", type=int, nargs="*", default=[50, 100, RESAMPLES, 400])
    args = parser.parse_args()
    windows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.leads:
            folder = Path(tmp) / f"gen{n}"
            generate_to_folder(n_leads=n, seed=0, out_dir=folder)
            windows[f"generated {n:,}"] = phases(f"generated {n:,}", folder, None)
    if args.shared is not None:
        for name in SHARED:
            windows[name] = phases(name, args.shared / name, shipped_mapping(name))
    for name, (y, p) in windows.items():
        steadiness(name, y, p, args.resamples)


if __name__ == "__main__":
    main()
