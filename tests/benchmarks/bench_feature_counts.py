"""What counting served features into the drift profile's bins costs a request, same run.

Not a timed test: run it by hand (`nice .venv/bin/python tests/benchmarks/bench_feature_counts.py`).
It trains one small champion (as `bench_serving.py` does) and measures two ways:

- in process, CPU time of exactly the added work for one request (`FeatureProfile.count`
  over the request's feature columns plus `FeatureCounter.add`), for 1 lead and for a
  10,000-lead batch, beside the CPU time of scoring the same leads (`score_items`): CPU
  seconds, so other engineers' load on the shared cores does not enter;
- over HTTP, single-lead p50/p95/p99 of two `handoff serve --workers 1` processes on the
  same registry, one counting (as shipped) and one with `BENCH_VARIANT=no-feature-counts`
  (`serve_variant.py`); rounds alternate between them, which goes first swapping every
  round (sequential requests on one keep-alive client), so both see the same machine load;
  beside them each server process's CPU ms per request (`/proc/PID/stat`), which other
  processes' load does not inflate as it does wall time. A second server without counting
  (`without-again`) runs in the same rotation: the difference between the two that do the
  same work is the noise floor the counting one is read against.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from bench_challenger import pct, round_ms  # noqa: E402
from bench_serving import api_items, free_port, make_champion, wait_http  # noqa: E402


def cpu_us(call: Callable[[], Any], repeats: int) -> float:
    """Median thread CPU time of one call, in µs."""
    times = []
    for _ in range(repeats):
        start = time.thread_time_ns()
        call()
        times.append((time.thread_time_ns() - start) / 1e3)
    return statistics.median(times)


def in_process(settings: Any, items: list[dict[str, Any]], repeats: int) -> None:
    import mlflow

    from models.drift import FeatureProfile
    from models.mlflow_layout import FEATURE_PROFILE_FILE
    from models.mlflow_setup import configure_mlflow
    from models.pyfunc import FEATURES_KEY
    from serving.feature_counts import FeatureCounter
    from serving.schemas import ScoreIn
    from serving.scoring import score_items, utc_now
    from serving.store import Store

    configure_mlflow(settings)
    client = mlflow.MlflowClient()
    mv = client.get_model_version_by_alias(settings.model_name, "champion")
    model = mlflow.pyfunc.load_model(mv.source).unwrap_python_model()
    profile = FeatureProfile.from_dict(
        mlflow.artifacts.load_dict(f"runs:/{mv.run_id}/{FEATURE_PROFILE_FILE}")
    )
    counter = FeatureCounter(
        Store("sqlite:///unused.sqlite", []),
        flush_seconds=3600,
        flush_leads=10**12,
        timeout_seconds=1,
    )
    now = utc_now()
    print(
        f"\n== in process, CPU µs per request (median of {repeats}; {len(profile.features)} "
        "profiled features) =="
    )
    print(f"{'leads':>6} {'score_items':>12} {'count+add':>10} {'share':>7}")
    for n in (1, len(items)):
        reqs = [ScoreIn.model_validate(i) for i in items[:n]]
        args = ([r.lead for r in reqs], [r.events for r in reqs], [r.as_of or now for r in reqs])
        features = score_items(model, *args, keep_features=True)[FEATURES_KEY]
        scoring = cpu_us(lambda a=args: score_items(model, *a), max(3, repeats // max(1, n // 100)))
        counting = cpu_us(
            lambda f=features, k=n: counter.add("1", profile, f, k, now),
            max(3, repeats // max(1, n // 100)),
        )
        print(f"{n:>6} {scoring:>12.0f} {counting:>10.1f} {counting / scoring:>7.1%}")
    # One lead at a time over different leads, as `/v1/score` sees them (new categories,
    # new category dtypes): the median of one call each.
    scored, counted = [], []
    for item in items[: min(repeats, len(items))]:
        req = ScoreIn.model_validate(item)
        args = ([req.lead], [req.events], [req.as_of or now])
        start = time.thread_time_ns()
        features = score_items(model, *args, keep_features=True)[FEATURES_KEY]
        scored.append((time.thread_time_ns() - start) / 1e3)
        start = time.thread_time_ns()
        counter.add("1", profile, features, 1, now)
        counted.append((time.thread_time_ns() - start) / 1e3)
    scoring, counting = statistics.median(scored), statistics.median(counted)
    print(
        f"{'1 (each a different lead)':>6} {scoring:>12.0f} {counting:>10.1f} "
        f"{counting / scoring:>7.1%}"
    )


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(
    settings: Any, work: Path, name: str, variant: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")},
        "HANDOFF_HOME": str(settings.home),
        "HANDOFF_API_KEY_HASHES": ",".join(settings.api_key_hashes),
        "HANDOFF_DATABASE_URL": f"sqlite:///{work / name}.sqlite",
        "HANDOFF_ACCESS_LOG": "false",
        "HANDOFF_WORKERS": "1",
        "BENCH_VARIANT": variant,
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "benchmarks" / "serve_variant.py"), str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/readyz", proc)
    return proc, url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-leads", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=10_000, help="leads in the large request")
    parser.add_argument("--repeats", type=int, default=300, help="in-process calls (1 lead)")
    parser.add_argument("--requests", type=int, default=100, help="per round and server")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-feature-counts-") as tmp:
        work = Path(tmp)
        settings = make_champion(work, args.train_leads)
        in_process(settings, api_items(work / "train", args.batch), args.repeats)
        items = api_items(work / "train", args.requests)
        variants = (
            ("counting", ""),
            ("without", "no-feature-counts"),
            ("without-again", "no-feature-counts"),
        )
        servers = {name: serve(settings, work, name, v) for name, v in variants}
        try:
            results: dict[str, list[float]] = {}
            cpu: dict[str, float] = {}
            for r in range(args.rounds):
                order = list(servers.items())
                for name, (proc, url) in order[r % 3 :] + order[: r % 3]:
                    before = process_cpu_s(proc.pid)
                    results.setdefault(name, []).extend(round_ms(url, items, 0.0))
                    cpu[name] = cpu.get(name, 0.0) + process_cpu_s(proc.pid) - before
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(timeout=60)
    print(f"\n== over HTTP, single lead, {args.rounds} alternating rounds ==")
    print(f"{'server':>13} {'n':>5} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'CPU ms/req':>11}")
    for name, values in results.items():
        print(
            f"{name:>13} {len(values):>5} {pct(values, 50):>7.2f} {pct(values, 95):>7.2f} "
            f"{pct(values, 99):>7.2f} {1000 * cpu[name] / len(values):>11.2f}"
        )
    print(f"load average during the run: {os.getloadavg()}")


if __name__ == "__main__":
    main()
