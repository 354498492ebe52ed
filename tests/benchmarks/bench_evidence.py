"""The evidence table of the leakage guard, the verdicts and the point-in-time vocabularies:
one row per data set, printed; asserts nothing.

    python tests/benchmarks/bench_evidence.py
    python tests/benchmarks/bench_evidence.py --leads 4000 20000 --shared ../shared/data

Data sets: generated CRM folders (no leak); a foreign export whose label depends on two
columns, with a sales-entered column filled in only for won leads and a region first seen in
the last quarter (`tests/conftest.write_mapped_export`), mapped with the leak excluded by the
guard, then kept through `[keep]`, then again with outcomes that depend on nothing; and, with
`--shared`, Leads X and UCI bank through their shipped mappings and with the columns their
notes call leakage mapped in (`bench_leakage.leaky_mapping`).

Each row: the guard's findings (column, rule, one-column AUC, action), the combined model's
verdict with its 95% intervals (AUC, the paired AUC difference to the best baseline, lift@10,
ECE and the ECE a calibrated model shows on that window by chance), and the test leads
holding a category the training window never held (share, their win rate beside the rest).
Nothing is registered: the pipeline up to `fit_and_evaluate`, as `handoff train` runs it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from bench_leakage import LEAKY, leaky_mapping  # noqa: E402

from data_contracts.mapping import shipped_mapping  # noqa: E402
from data_contracts.synthetic import generate_to_folder  # noqa: E402
from tests.conftest import export_mapping, write_mapped_export  # noqa: E402
from training.fit_evaluate import fit_and_evaluate  # noqa: E402
from training.prepare import prepare_training_data  # noqa: E402

KEEP_REASON = "the benchmark keeps it to show what a kept leak scores"


def row(label: str, data_dir: Path, mapping: Path | None) -> None:
    start = time.perf_counter()
    data = prepare_training_data(data_dir, mapping=mapping)
    candidate = fit_and_evaluate(data)
    took = time.perf_counter() - start
    v, u = candidate.verdict, candidate.unseen
    print(
        f"\n## {label}: train {len(data.split.train):,} / test {v.rows:,} leads "
        f"({v.wins:,} test wins), {took:.1f}s"
    )
    for f in data.leakage.findings:
        print(f"  guard  {f.column:<26} {f.rule:<16} AUC {f.auc:.3f}  {f.action}")
    if not data.leakage.findings:
        best = ", ".join(f"{c} {a:.3f}" for c, a in data.leakage.strongest[:3])
        print(f"  guard  no suspect among {data.leakage.columns} columns (strongest: {best})")
    base = v.baseline
    print(f"  verdict {v.word}: AUC {v.auc.text()}")
    if base is not None:
        print(f"          vs {base.against}: {base.difference.text('.4f', signed=True)}")
    print(
        f"          lift@10 {v.lift_top10.text('.2f')}; ECE {v.ece.text('.4f')}, "
        f"calibrated-model noise {v.ece_noise:.4f}"
    )
    print(f"  unseen {_unseen(u)}")


def _unseen(u: dict[str, Any]) -> str:
    if not u.get("unseen"):
        return f"none of {u['leads']:,} test leads"
    rest = u["win_rate_seen"]
    return (
        f"{u['unseen']:,} of {u['leads']:,} test leads ({u['share']:.1%}) won at "
        f"{u['win_rate_unseen']:.1%}, the rest at {'-' if rest is None else f'{rest:.1%}'} "
        f"({', '.join(f'{c} {n:,}' for c, n in u['columns'].items())})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, nargs="*", default=[4_000])
    parser.add_argument("--export-rows", type=int, default=4_000)
    parser.add_argument("--shared", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for n in args.leads:
            folder = root / f"gen{n}"
            generate_to_folder(n_leads=n, seed=0, out_dir=folder)
            row(f"generated {n:,} leads", folder, None)
        export = write_mapped_export(root / "export", rows=args.export_rows)
        silent = write_mapped_export(root / "silent", rows=args.export_rows, signal=False)
        cases = {
            "export, sales-entered leak mapped in": (export, export_mapping()),
            "export, the same leak kept via [keep]": (
                export,
                export_mapping(keep={"Business Type": KEEP_REASON}),
            ),
            "export whose outcomes depend on nothing": (silent, export_mapping(leak=False)),
        }
        for i, (label, (folder, text)) in enumerate(cases.items()):
            mapping = root / f"export{i}.toml"
            mapping.write_text(text)
            row(label, folder, mapping)
        if args.shared is not None:
            for name in LEAKY:
                row(f"{name}, shipped mapping", args.shared / name, shipped_mapping(name))
                row(
                    f"{name}, leakage columns mapped in",
                    args.shared / name,
                    leaky_mapping(name, root),
                )


if __name__ == "__main__":
    main()
