"""Wall time and peak memory of `build_features` (and `make_labels`) at scale, plus the
latency of one lead with ~20 events, as the API calls it.

    .venv/bin/python tests/benchmarks/bench_features.py --leads 1000000 --events-per-lead 20
    .venv/bin/python tests/benchmarks/bench_features.py --leads 100000 --single-calls 1000

The frames are synthetic and built here (plain random data of the contract's shape, not
realistic behaviour): lead ids and event types are pyarrow-backed strings, as read from
parquet. Targets: 1M leads / 20M events in about a minute on 2 cores; one lead < 2 ms.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from data_contracts import vocab
from features.build import build_features
from features.labels import make_labels

START = pd.Timestamp("2023-01-01", tz="UTC")
DAY_S = 86_400
TYPE_P = np.array([30, 8, 6, 3, 2, 1, 25, 10, 1, 1, 1, 1], dtype=float)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _strings(values: np.ndarray) -> pd.Series:
    return pd.Series(values, dtype="str")


def make_frames(
    n_leads: int, events_per_lead: float, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Series]:
    """leads, events, outcomes and one snapshot per lead (created + 0..60 days)."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"L{i:08d}" for i in range(n_leads)], dtype=object)
    created_s = rng.integers(0, 730 * DAY_S, n_leads)
    created = START + pd.to_timedelta(created_s, unit="s")
    pick = lambda values, n: np.asarray(values, dtype=object)[rng.integers(0, len(values), n)]  # noqa: E731
    domains = np.array([*vocab.FREE_MAIL_DOMAINS[:4], *(f"co{i}.com" for i in range(2000))])
    emails = np.char.add(np.char.add("u", rng.integers(0, 10**6, n_leads).astype(str)), "@")
    emails = np.char.add(emails, domains[rng.integers(0, len(domains), n_leads)])
    titles = ["Head of Sales", "CEO", "Marketing Manager", "Engineer", "VP Finance", None]
    leads = pd.DataFrame(
        {
            "lead_id": _strings(ids),
            "created_at": pd.Series(created).dt.as_unit("us"),
            "email": _strings(emails.astype(object)),
            "company": _strings(pick([f"Co {i}" for i in range(5000)], n_leads)),
            "phone": _strings(np.where(rng.random(n_leads) < 0.6, "+1 555", None)),
            "mobile": _strings(np.where(rng.random(n_leads) < 0.3, "+1 666", None)),
            "industry": _strings(pick(["software", "retail", "finance", "health", None], n_leads)),
            "employees": pd.array(rng.integers(1, 50_000, n_leads), dtype="Int64"),
            "annual_revenue": rng.lognormal(15, 2, n_leads),
            "country": _strings(pick(["US", "DE", "GB", "FR", "IN", None], n_leads)),
            "title": _strings(pick(titles, n_leads)),
            "seniority": _strings(pick(vocab.SENIORITIES, n_leads)),
            "function": _strings(pick(vocab.FUNCTIONS, n_leads)),
            "source": _strings(pick(vocab.SOURCES, n_leads)),
            "is_named_account": rng.random(n_leads) < 0.1,
        }
    )
    n_events = int(n_leads * events_per_lead)
    owner = rng.integers(0, n_leads, n_events)
    offset_s = rng.integers(-90 * DAY_S, 240 * DAY_S, n_events)
    occurred = START + pd.to_timedelta(created_s[owner] + offset_s, unit="s")
    types = np.asarray(vocab.EVENT_TYPES, dtype=object)
    type_codes = rng.choice(len(types), n_events, p=TYPE_P / TYPE_P.sum())
    events = pd.DataFrame(
        {
            "lead_id": leads["lead_id"].take(owner).reset_index(drop=True),
            "occurred_at": pd.Series(occurred).dt.as_unit("us"),
            "type": pd.Series(types).astype("str").take(type_codes).reset_index(drop=True),
        }
    )
    del owner, offset_s, occurred, type_codes
    n_out = n_leads // 2
    who = rng.choice(n_leads, n_out, replace=False)
    stage = pick(["mql", "closed_won", "closed_lost", "sales_rejected"], n_out)
    outcomes = pd.DataFrame(
        {
            "lead_id": leads["lead_id"].take(who).reset_index(drop=True),
            "stage": _strings(stage),
            "occurred_at": pd.Series(
                START + pd.to_timedelta(created_s[who] + rng.integers(0, 200 * DAY_S, n_out), "s")
            ).dt.as_unit("us"),
        }
    )
    as_of = pd.Series(
        START + pd.to_timedelta(created_s + rng.integers(0, 60 * DAY_S, n_leads), unit="s"),
        index=pd.Index(leads["lead_id"], name="lead_id"),
    ).dt.as_unit("us")
    return leads, events, outcomes, as_of


def single_lead_latency(
    leads: pd.DataFrame, events: pd.DataFrame, calls: int
) -> tuple[np.ndarray, np.ndarray]:
    """Wall and CPU seconds per `build_features` call for one lead with its ~20 events.

    CPU (thread) time is reported beside wall time because on a shared machine wall time
    mostly measures the other processes.
    """
    first = leads.iloc[:calls] if len(leads) >= calls else leads
    ids = set(first["lead_id"])
    ev = events[events["lead_id"].isin(ids)]
    by_lead = {lid: grp for lid, grp in ev.groupby("lead_id", sort=False)}
    empty = events.iloc[:0]
    payloads = [
        (first.iloc[[i]], by_lead.get(first["lead_id"].iloc[i], empty)) for i in range(len(first))
    ]
    now = START + pd.Timedelta(days=800)
    for lead, lead_events in payloads[:50]:  # warm-up
        build_features(lead, lead_events, now)
    wall, cpu = np.empty(calls), np.empty(calls)
    for i in range(calls):
        lead, lead_events = payloads[i % len(payloads)]
        t0, c0 = time.perf_counter(), time.thread_time()
        build_features(lead, lead_events, now)
        cpu[i] = time.thread_time() - c0
        wall[i] = time.perf_counter() - t0
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--events-per-lead", type=float, default=20.0)
    parser.add_argument("--single-calls", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    leads, events, outcomes, as_of = make_frames(args.leads, args.events_per_lead, args.seed)
    gc.collect()
    print(
        f"data: {len(leads):,} leads, {len(events):,} events, {len(outcomes):,} outcomes "
        f"built in {time.perf_counter() - t0:.1f}s; peak RSS so far {peak_rss_mb():,.0f} MB"
    )

    t0 = time.perf_counter()
    labels = make_labels(leads, outcomes, horizon_days=180, data_end=START + pd.Timedelta(days=800))
    t_labels = time.perf_counter() - t0

    t0 = time.perf_counter()
    cpu0 = time.process_time()
    ff = build_features(leads, events, as_of)
    t_features = time.perf_counter() - t0
    cpu_features = time.process_time() - cpu0
    print(
        f"make_labels:    {t_labels:7.2f} s wall ({int(labels['censored'].sum()):,} censored)\n"
        f"build_features: {t_features:7.2f} s wall, {cpu_features:.2f} s CPU "
        f"-> {ff.frame.shape[0]:,} x {ff.frame.shape[1]} "
        f"({ff.frame.memory_usage(deep=False).sum() / 2**20:,.0f} MB frame)\n"
        f"peak RSS:       {peak_rss_mb():7,.0f} MB (includes the synthetic input frames)"
    )

    wall, cpu = single_lead_latency(leads, events, args.single_calls)
    for what, lat in (("wall", wall * 1e3), ("CPU ", cpu * 1e3)):
        print(
            f"single lead (~{args.events_per_lead:g} events), {args.single_calls} calls, {what}: "
            f"p50 {np.percentile(lat, 50):.3f} ms, p99 {np.percentile(lat, 99):.3f} ms, "
            f"max {lat.max():.3f} ms"
        )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
