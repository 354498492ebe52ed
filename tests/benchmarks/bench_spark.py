"""Spark (`local[2]`) against the single-machine path: contracts, features and scoring.

    nice .venv/bin/python tests/benchmarks/bench_spark.py --leads 100000 1000000 5000000
    nice .venv/bin/python tests/benchmarks/bench_spark.py --leads 1000000 --engines single single-whole

For each size it writes a plain contract-shaped folder (20 events and 3 outcomes per lead,
generated in chunks), trains a small champion once (20k generated leads, promoted with
loose gates: speed, not quality, is measured), then runs on each engine `validate`
(contracts), `prepare` (contracts + labels + point-in-time features, what training does
before fitting) and `score` (contracts + features + champion): on one machine each phase in
its own process ("single" reads a folder of more than `--bucket-leads` leads a lead-id
bucket at a time, as the commands do; "single-whole" reads it whole), on Spark all three in
one process and session. It prints
rows per second (of wall time and of CPU time), the CPU seconds and the peak memory of
the whole process tree (driver, JVM and Python workers, sampled every 0.2 s), with the load
average, since the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from data_contracts import vocab  # noqa: E402
from data_contracts.folder_buckets import BUCKET_LEADS  # noqa: E402

CHUNK = 250_000
PHASES: tuple[str, ...] = ("validate", "prepare", "score")
START = pd.Timestamp("2023-01-01", tz="UTC").as_unit("us")


def tree_usage(pid: int) -> tuple[float, float]:
    """Resident memory (MB) and CPU seconds so far of `pid` and its live descendants
    (Linux /proc; a worker that has exited no longer counts)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    cpu: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        children.setdefault(int(stat[1]), []).append(int(entry.name))
        cpu[int(entry.name)] = int(stat[11]) + int(stat[12])  # utime + stime, in ticks
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(entry.name)] = int(line.split()[1])
    total, ticks, todo = 0, 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        ticks += cpu.get(p, 0)
        todo.extend(children.get(p, []))
    return total / 1024, ticks / os.sysconf("SC_CLK_TCK")


def tree_rss_mb(pid: int) -> float:
    return tree_usage(pid)[0]


class PeakSampler:
    """Peak tree RSS of this process while a phase runs, and the CPU seconds the tree used
    (on a shared box wall time says more about the neighbours than about the code)."""

    def __init__(self) -> None:
        self.peak = 0.0
        self.cpu = 0.0
        self._cpu_last = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        rss, cpu = tree_usage(os.getpid())
        self.peak = max(self.peak, rss)
        self._cpu_last = max(self._cpu_last, cpu)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> PeakSampler:
        self.peak, self._cpu_start = tree_usage(os.getpid())
        self._cpu_last = self._cpu_start
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.cpu = self._cpu_last - self._cpu_start


def write_folder(n_leads: int, out: Path, seed: int = 0) -> None:
    """Leads, events (20 per lead) and outcomes (3 per lead) as Parquet, chunk by chunk."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    pick = lambda values, n: np.asarray(values, dtype=object)[rng.integers(0, len(values), n)]  # noqa: E731
    for start in range(0, n_leads, CHUNK):
        n = min(CHUNK, n_leads - start)
        ids = np.array([f"L{i:09d}" for i in range(start, start + n)], dtype=object)
        created = START + pd.to_timedelta(rng.integers(0, 365 * 86_400, n), unit="s")
        leads = pd.DataFrame(
            {
                "lead_id": ids,
                "created_at": created,
                "email": pick([None, "a@acme.com", "b@gmail.com"], n),
                "company": "Acme",
                "phone": pick([None, "+1 555"], n),
                "mobile": None,
                "industry": pick(["software", "retail", "finance", None], n),
                "employees": pd.array(rng.integers(1, 10_000, n), dtype="Int64"),
                "annual_revenue": rng.uniform(0, 1e8, n),
                "country": pick(["DE", "US", "GB"], n),
                "title": pick(["Head of Ops", "CEO", "Engineer", None], n),
                "seniority": pick(vocab.SENIORITIES, n),
                "function": pick(vocab.FUNCTIONS, n),
                "source": pick(vocab.SOURCES, n),
                "is_named_account": rng.random(n) < 0.1,
            }
        )
        owner = rng.integers(0, n, n * 20)
        events = pd.DataFrame(
            {
                "lead_id": ids[owner],
                "occurred_at": created[owner]
                + pd.to_timedelta(rng.integers(0, 120 * 86_400, n * 20), unit="s"),
                "type": pick(vocab.EVENT_TYPES, n * 20),
                "channel": pick(vocab.CHANNELS, n * 20),
                "campaign": pick(["spring", "summer"], n * 20),
            }
        )
        won = np.where(rng.random(n) < 0.1, "closed_won", "closed_lost")
        day = pd.Timedelta(days=1)
        outcomes = pd.concat(
            [
                pd.DataFrame({"lead_id": ids, "stage": "mql", "occurred_at": created + day}),
                pd.DataFrame(
                    {"lead_id": ids, "stage": "opportunity", "occurred_at": created + 10 * day}
                ),
                pd.DataFrame({"lead_id": ids, "stage": won, "occurred_at": created + 40 * day}),
            ],
            ignore_index=True,
        )
        outcomes["reject_reason"] = pd.Series(None, index=outcomes.index, dtype=object)
        outcomes["amount"] = np.where(outcomes["stage"] == "mql", np.nan, 10_000.0)
        outcomes["meeting_rating"] = pd.array([pd.NA] * len(outcomes), dtype="Int64")
        for name, frame in (("leads", leads), ("events", events), ("outcomes", outcomes)):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if name not in writers:
                writers[name] = pq.ParquetWriter(out / f"{name}.parquet", table.schema)
            writers[name].write_table(table.cast(writers[name].schema))
    for writer in writers.values():
        writer.close()
    end = START + pd.Timedelta(days=600)
    (out / "manifest.json").write_text(json.dumps({"extracted_at": end.isoformat()}))


def make_champion(home: Path) -> None:
    """A small signed-off champion in `home` (trained on 20k generated leads, on their own
    features: the folders this bench writes have no accounts table)."""
    from data_contracts.synthetic import generate_to_folder
    from serving.settings import ServingSettings
    from training.promote import promote_version
    from training.signoff import record_signoff
    from training.train import run_training

    settings = ServingSettings(home=home)
    generate_to_folder(n_leads=20_000, seed=0, out_dir=home / "train")
    # Lead features only: Spark scores no champion that reads account features.
    version = run_training(home / "train", settings=settings, account_features=False).version
    for team in ("marketing", "bdr"):
        record_signoff(version, team=team, by=f"bench-{team}", approve=True, settings=settings)
    loose = {"max_ece": 1.0, "auc_tolerance": 1.0, "baseline_margin": -1.0}
    promote_version(version, settings=settings, by="bench", **loose)


def run_engine(
    engine: str,
    data: Path,
    home: Path,
    master: str,
    bucket_leads: int = BUCKET_LEADS,
    phases: tuple[str, ...] = PHASES,
) -> list[dict[str, object]]:
    """`phases` on one engine, in this process; one record per phase. "single" reads a
    folder of more than `bucket_leads` leads a lead-id bucket at a time, as the commands
    do; "single-whole" reads every folder whole, as they did before."""
    from serving.settings import ServingSettings

    settings = ServingSettings(home=home)
    rows = int(pq.ParquetFile(data / "events.parquet").metadata.num_rows)
    records: list[dict[str, object]] = []
    spark = None
    if engine == "spark":
        from data_contracts.spark_session import spark_session

        spark = spark_session(master, conf={"spark.driver.memory": "6g"})

    def phase(name: str, fn) -> None:  # type: ignore[no-untyped-def]
        if name not in phases:
            return
        with tempfile.TemporaryDirectory(dir=data.parent) as tmp, PeakSampler() as peak:
            t0 = time.perf_counter()
            fn(Path(tmp))
            seconds = time.perf_counter() - t0
        records.append(
            {
                "engine": engine,
                "bucket_leads": bucket_leads if engine == "single" else None,
                "phase": name,
                "seconds": round(seconds, 1),
                "events_per_s": round(rows / seconds),
                "cpu_s": round(peak.cpu, 1),
                "events_per_cpu_s": round(rows / max(peak.cpu, 1e-9)),
                "peak_tree_mb": round(peak.peak),
                "load": round(os.getloadavg()[0], 1),
            }
        )
        print(json.dumps(records[-1]), flush=True)

    if spark is None:
        from data_contracts.bucket_validate import check_folder
        from serving.batch_score import score_folder
        from training.prepare import prepare_training_data

        leads = bucket_leads if engine == "single" else sys.maxsize
        phase("validate", lambda tmp: check_folder(data, quarantine_dir=tmp, bucket_leads=leads))
        phase("prepare", lambda tmp: prepare_training_data(data, bucket_leads=leads))
        phase(
            "score",
            lambda tmp: score_folder(
                data, out=tmp / "s.parquet", settings=settings, chunk_leads=leads
            ),
        )
    else:
        from data_contracts.spark_validate import validate_on_spark
        from serving.spark_score import score_on_spark
        from training.spark_train import prepare_on_spark

        phase("validate", lambda tmp: validate_on_spark(spark, data, quarantine_dir=tmp))
        phase("prepare", lambda tmp: prepare_on_spark(spark, data))
        phase(
            "score",
            lambda tmp: score_on_spark(
                spark, data, out=tmp / "s", settings=settings, quarantine_dir=tmp / "q"
            ),
        )
        spark.stop()
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[100_000])
    parser.add_argument(
        "--engines",
        nargs="+",
        default=["single", "spark"],
        choices=["single", "single-whole", "spark"],
    )
    parser.add_argument(
        "--bucket-leads", type=int, default=BUCKET_LEADS, help="lead-id bucket size of 'single'"
    )
    parser.add_argument("--phases", nargs="+", default=list(PHASES), choices=PHASES)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench_spark")
    parser.add_argument(
        "--one", nargs=3, metavar=("ENGINE", "DATA", "HOME"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if args.one:
        engine, data, home = args.one
        phases = tuple(args.phases)
        run_engine(engine, Path(data), Path(home), args.master, args.bucket_leads, phases)
        return
    home = args.work / "home"
    if not (home / "mlflow.db").exists():
        make_champion(home)
    for n in args.leads:
        data = args.work / f"crm-{n}"
        if not (data / "manifest.json").exists():
            t0 = time.perf_counter()
            write_folder(n, data)
            print(f"wrote {n:,} leads / {n * 20:,} events in {time.perf_counter() - t0:.0f}s")
        for engine in args.engines:
            # One process per phase on one machine, so a phase's peak is its own; Spark's
            # phases share one session, as a nightly job's would.
            runs = [[p] for p in args.phases] if engine != "spark" else [args.phases]
            for phases in runs:
                print(f"== {n:,} leads, {engine}, {' '.join(phases)}", flush=True)
                done = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--master",
                        args.master,
                        "--bucket-leads",
                        str(args.bucket_leads),
                        "--phases",
                        *phases,
                        "--one",
                        engine,
                        str(data),
                        str(home),
                    ],
                    check=False,
                )
                if done.returncode:
                    print(f"{engine} at {n:,} leads ended with exit code {done.returncode}")


if __name__ == "__main__":
    main()
