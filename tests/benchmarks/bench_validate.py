"""Wall time and peak memory of `validate_folder` on a large CRM folder.

    .venv/bin/python tests/benchmarks/bench_validate.py --data /tmp/gen1m
    .venv/bin/python tests/benchmarks/bench_validate.py --data /tmp/big --make 1000000

`--make N` writes a plain contract-shaped folder of N leads (~20 events, ~3 outcomes each)
first, for when `data_contracts.synthetic` is not at hand; it is not realistic data.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from data_contracts import vocab
from data_contracts.validate import validate_folder


def make_folder(n_leads: int, out: Path, seed: int = 0) -> None:
    """Write leads/events/outcomes parquet files of `n_leads` leads with valid rows."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    ids = pd.Series([f"L{i:08d}" for i in range(n_leads)], dtype="str")
    start = pd.Timestamp("2023-01-01", tz="UTC").as_unit("us")
    created = start + pd.to_timedelta(rng.integers(0, 365 * 86_400, n_leads), unit="s")
    pick = lambda values, n: pd.Series(np.asarray(values)[rng.integers(0, len(values), n)])  # noqa: E731
    pd.DataFrame(
        {
            "lead_id": ids,
            "created_at": created,
            "email": None,
            "company": "Acme",
            "phone": None,
            "mobile": None,
            "industry": "software",
            "employees": pd.array(rng.integers(1, 10_000, n_leads), dtype="Int64"),
            "annual_revenue": rng.uniform(0, 1e8, n_leads),
            "country": "DE",
            "title": "Head of Ops",
            "seniority": pick(vocab.SENIORITIES, n_leads),
            "function": pick(vocab.FUNCTIONS, n_leads),
            "source": pick(vocab.SOURCES, n_leads),
            "is_named_account": rng.random(n_leads) < 0.1,
        }
    ).to_parquet(out / "leads.parquet", index=False)
    n_events = n_leads * 20
    owner = rng.integers(0, n_leads, n_events)
    pd.DataFrame(
        {
            "lead_id": ids.to_numpy()[owner],
            "occurred_at": created[owner]
            + pd.to_timedelta(rng.integers(0, 90 * 86_400, n_events), unit="s"),
            "type": pick(vocab.EVENT_TYPES, n_events),
            "channel": pick(vocab.CHANNELS, n_events),
            "campaign": pick(["spring", "summer", "autumn"], n_events),
        }
    ).to_parquet(out / "events.parquet", index=False)
    won = rng.random(n_leads) < 0.1
    closed = np.where(won, "closed_won", "closed_lost")
    day = pd.Timedelta(days=1)
    parts = [
        pd.DataFrame({"lead_id": ids, "stage": "mql", "occurred_at": created + day}),
        pd.DataFrame({"lead_id": ids, "stage": "opportunity", "occurred_at": created + 10 * day}),
        pd.DataFrame({"lead_id": ids, "stage": closed, "occurred_at": created + 40 * day}),
    ]
    outcomes = pd.concat(parts, ignore_index=True)
    outcomes["reject_reason"] = pd.Series(None, index=outcomes.index, dtype="str")
    outcomes["amount"] = np.where(outcomes["stage"] == "mql", np.nan, 10_000.0)
    outcomes["meeting_rating"] = pd.array([pd.NA] * len(outcomes), dtype="Int64")
    outcomes.to_parquet(out / "outcomes.parquet", index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="CRM folder to validate")
    parser.add_argument("--make", type=int, default=0, help="first write N plain leads there")
    args = parser.parse_args()
    if args.make:
        t0 = time.perf_counter()
        make_folder(args.make, args.data)
        print(f"wrote {args.make:,} leads to {args.data} in {time.perf_counter() - t0:.1f}s")
    with tempfile.TemporaryDirectory() as quarantine:
        t0, c0 = time.perf_counter(), time.process_time()
        result = validate_folder(args.data, quarantine_dir=Path(quarantine))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for table, c in result.counts.items():
        print(f"{table:>9}: {c['rows']:>11,} rows, {c['quarantined']:,} quarantined")
    print(f"ok={result.ok} failures={len(result.failures):,}")
    # CPU time too: on a shared machine wall time also measures the neighbours.
    print(f"wall time: {wall:.2f}s  cpu time: {cpu:.2f}s  peak RSS: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
