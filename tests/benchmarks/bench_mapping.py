"""Reading through a mapping against the native Parquet folder, on the same generated truth.

    python tests/benchmarks/bench_mapping.py --leads 20000                       # quick
    nice python tests/benchmarks/bench_mapping.py --leads 1000000 --root /tmp/big --train

Generates the truth natively and in each export shape (`--shapes`), then times `handoff
validate` (and with `--train`, `handoff train`) on each, every command in a fresh process
(wall time and that process's peak RSS), and prints what `handoff mapping check` reports
per table. A heavy run, by hand only: never in the tests or in `ci.sh`. Prints figures,
asserts nothing. Folders that already hold a generation of the same size are reused.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from data_contracts.mapping import shipped_mapping  # noqa: E402
from data_contracts.synthetic import generate_to_folder  # noqa: E402

HANDOFF = [sys.executable, "-m", "handoff_cli"]


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, output) of one command in its own process."""
    started = time.perf_counter()
    child = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT, text=True
    )
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        print(output[-3000:])
        raise SystemExit(f"{' '.join(args[2:4])} failed with {child.returncode}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, output


def generated(folder: Path, shape: str, leads: int, seed: int) -> None:
    manifest = folder / "manifest.json"
    if manifest.is_file():
        gen = json.loads(manifest.read_text()).get("generator", {})
        if (
            gen.get("n_leads") == leads
            and gen.get("seed") == seed
            and gen.get("shape", "native") == shape
        ):
            print(f"{shape}: reusing {folder}")
            return
    started = time.perf_counter()
    summary = generate_to_folder(leads, seed, folder, shape=shape)
    print(
        f"{shape}: generated {summary['leads']:,} leads, {summary['events']:,} events in {time.perf_counter() - started:.0f}s"
    )


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", type=Path, default=Path("/tmp/handoff-bench-mapping"))
    parser.add_argument("--shapes", nargs="+", default=["salesforce", "hubspot"])
    parser.add_argument("--train", action="store_true", help="also time handoff train")
    parser.add_argument("--check", action="store_true", help="also print handoff mapping check")
    args = parser.parse_args()

    load = os.getloadavg()
    print(
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores"
    )
    shapes = ["native", *args.shapes]
    folders = {s: args.root / f"{s}-{args.leads}" for s in shapes}
    for shape in shapes:
        generated(folders[shape], shape, args.leads, args.seed)

    rows = []
    for shape in shapes:
        env = {**os.environ, "HANDOFF_HOME": str(args.root / f"home-{shape}-{args.leads}")}
        mapping = [] if shape == "native" else ["--mapping", str(shipped_mapping(shape))]
        quarantine = ["--quarantine", str(args.root / f"quarantine-{shape}")]
        seconds, rss, out = timed(
            [*HANDOFF, "validate", str(folders[shape]), *mapping, *quarantine], env
        )
        row = {
            "shape": shape,
            "files_mb": size_mb(folders[shape]),
            "validate_s": seconds,
            "validate_rss_mb": rss,
        }
        print(f"\n== {shape}: handoff validate {seconds:.1f}s, peak RSS {rss:,.0f} MB")
        print("\n".join(out.splitlines()[:4]))
        if args.check and shape != "native":
            seconds, rss, out = timed(
                [*HANDOFF, "mapping", "check", str(shipped_mapping(shape)), str(folders[shape])],
                env,
            )
            print(f"-- handoff mapping check {seconds:.1f}s, peak RSS {rss:,.0f} MB\n{out}")
        if args.train:
            seconds, rss, out = timed([*HANDOFF, "train", str(folders[shape]), *mapping], env)
            auc = re.search(r"^combined\s+([0-9.]+)", out, re.MULTILINE)
            oracle = re.search(r"^oracle\s+([0-9.]+)", out, re.MULTILINE)
            row |= {
                "train_s": seconds,
                "train_rss_mb": rss,
                "auc": float(auc[1]) if auc else None,
                "oracle_auc": float(oracle[1]) if oracle else None,
            }
            print(f"-- handoff train {seconds:.1f}s, peak RSS {rss:,.0f} MB\n{out}")
        rows.append(row)

    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        f"\n{'shape':<12}{'files MB':>10}{'validate s':>12}{'RSS MB':>9}"
        + (f"{'train s':>10}{'RSS MB':>9}{'AUC':>9}{'oracle':>9}" if args.train else "")
    )
    for r in rows:
        line = f"{r['shape']:<12}{r['files_mb']:>10,.0f}{r['validate_s']:>12.1f}{r['validate_rss_mb']:>9,.0f}"
        if args.train:
            line += f"{r['train_s']:>10.1f}{r['train_rss_mb']:>9,.0f}{r['auc'] or float('nan'):>9.4f}{r['oracle_auc'] or float('nan'):>9.4f}"
        print(line)


if __name__ == "__main__":
    main()
