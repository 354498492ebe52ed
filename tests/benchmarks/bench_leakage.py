"""The leakage guard's false-alarm rate on generated data, and what it finds on the public
exports with their sales-entered columns mapped in: prints numbers, asserts nothing.

    python tests/benchmarks/bench_leakage.py --seeds 24 --leads 1500 4000
    python tests/benchmarks/bench_leakage.py --seeds 0 --shared ../shared/data

Generated leads have no leak (the generator's post-hand-off sales activity is invisible to
point-in-time features), so every finding there is a false alarm.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from data_contracts.mapping import shipped_mapping
from data_contracts.synthetic import generate_to_folder
from training.leakage import LeakageReport
from training.prepare import prepare_training_data

# Columns the exports' own notes call leakage, mapped in as inputs: (source, kind).
LEAKY: dict[str, dict[str, tuple[str, str]]] = {
    "leads_x_education": {
        "tags": ("Tags", "categorical"),
        "lead_quality": ("Lead Quality", "categorical"),
        "lead_profile": ("Lead Profile", "categorical"),
        "asym_activity_index": ("Asymmetrique Activity Index", "categorical"),
        "asym_profile_index": ("Asymmetrique Profile Index", "categorical"),
        "asym_activity_score": ("Asymmetrique Activity Score", "numeric"),
        "asym_profile_score": ("Asymmetrique Profile Score", "numeric"),
        "last_activity": ("Last Activity", "categorical"),
        "last_notable_activity": ("Last Notable Activity", "categorical"),
    },
    "uci_bank_marketing": {"duration": ("duration", "numeric")},
}


def leaky_mapping(name: str, folder: Path) -> Path:
    """The shipped mapping without its exclusion list, the leakage columns as inputs."""
    text = shipped_mapping(name).read_text().split("[excluded]")[0]
    for extra, (source, kind) in LEAKY[name].items():
        text += f'[extras.{extra}]\nfrom = "{source}"\nrole = "fit"\ndtype = "{kind}"\n'
    path = folder / f"{name}_leaky.toml"
    path.write_text(text)
    return path


def show(label: str, report: LeakageReport) -> None:
    print(f"{label}: {report.columns} columns, {report.rows:,} training leads")
    for f in report.findings:
        print(f"    {f.column:<28} {f.rule:<16} AUC {f.auc:.3f}  {f.action}")
    if not report.findings:
        best = ", ".join(f"{c} {a:.3f}" for c, a in report.strongest[:3])
        print(f"    no suspect; strongest alone: {best}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=24)
    parser.add_argument("--leads", type=int, nargs="*", default=[1_500, 4_000])
    parser.add_argument("--shared", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.leads:
            alarms = []
            for seed in range(100, 100 + args.seeds):
                folder = Path(tmp) / f"g{n}_{seed}"
                generate_to_folder(n_leads=n, seed=seed, out_dir=folder)
                report = prepare_training_data(folder).leakage
                alarms += [(seed, f.column, f.rule, f.auc) for f in report.findings]
            if args.seeds:
                seeds = len({a[0] for a in alarms})
                print(
                    f"generated {n:,} leads: false alarms in {seeds} of {args.seeds} seeds {alarms}"
                )
        if args.shared is not None:
            for name in LEAKY:
                data = args.shared / name
                show(
                    f"{name} (shipped mapping)",
                    prepare_training_data(data, mapping=shipped_mapping(name)).leakage,
                )
                leaky = leaky_mapping(name, Path(tmp))
                show(
                    f"{name} (leakage columns mapped in)",
                    prepare_training_data(data, mapping=leaky).leakage,
                )


if __name__ == "__main__":
    main()
