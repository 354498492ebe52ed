"""Wall time and peak memory of `generate_to_folder` at scale.

    nice .venv/bin/python tests/benchmarks/bench_generate.py --leads 1000000
    .venv/bin/python tests/benchmarks/bench_generate.py --leads 200000 --out /tmp/gen200k

Without `--out` the folder goes to a temporary directory that is removed afterwards.
Peak RSS is the process high-water mark (`resource.getrusage`, KiB on Linux).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from data_contracts.synthetic import CHUNK_SIZE, generate_to_folder


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file()) / 2**20


def run(n_leads: int, seed: int, out: Path, chunk_size: int) -> None:
    """Generate once and print the summary plus time, memory and size on disk."""
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    summary = generate_to_folder(n_leads=n_leads, seed=seed, out_dir=out, chunk_size=chunk_size)
    wall = time.perf_counter() - start
    for key, value in summary.items():
        print(f"{key:>24}: {value}")
    print(f"{'wall_seconds':>24}: {wall:.1f}")
    print(f"{'peak_rss_mb':>24}: {peak_rss_mb():.0f} (before generating: {rss_before:.0f})")
    print(f"{'folder_mb':>24}: {folder_mb(out):.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)
    parser.add_argument("--out", type=Path, help="keep the folder here (default: temporary)")
    args = parser.parse_args()
    if args.out:
        run(args.leads, args.seed, args.out, args.chunk_size)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(args.leads, args.seed, Path(tmp) / "crm", args.chunk_size)


if __name__ == "__main__":
    main()
