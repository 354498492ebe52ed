"""Load side by side with `wrk`: Handoff (1 and N workers), its `/healthz`, `mlflow models serve`.

Not a timed test: run it by hand (`.venv/bin/python tests/benchmarks/bench_load.py`; root
installs `wrk` through apt-get when it is missing). It trains a small champion (as
`bench_serving.py` does; `--work DIR` keeps it for the next run), starts every server at once
on free loopback ports and then measures them interleaved, round after round, so each side
meets the same load from the rest of the machine:

- `handoff-1`, `handoff-N`: `handoff serve --workers 1|N`, `POST /v1/score`, one lead with 20
  events, reasons on (the score log committed before each answer, as always);
- `healthz-N`: the same N-worker server's `GET /healthz`, the ceiling of the stack;
- `mlflow-1`, `mlflow-N`: `mlflow models serve -w 1|N` on the champion's fit LightGBM booster
  (one encoded row: a tenth of Handoff's work, no features, no reasons, no log);
- with `--variants`, the design choices measured against the defaults: `uvloop-N` (uvloop
  instead of asyncio), `eventloop-N` (the single-lead route on the event loop, not the thread pool,
  awaiting the writer thread's commit), `eventloop-direct-N` (on the event loop, committing
  its row itself, blocking the loop for the commit),
  `no-freeze-N` (no `gc.freeze` after start-up), `poll-fast-N` (the champion poll every
  0.2 s instead of every 5 s), `switch-N` (the interpreter's thread switch interval at 0.5 ms).

Each (target, concurrency) cell runs `wrk -d DURATION` once per round; the table shows the
median over rounds of req/s, p50, p99 and max latency (wrk's own histogram), and the ratios
the targets are stated in. wrk shares the cores with the servers, as any client here would.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_serving import (  # noqa: E402
    API_KEY,
    ROOT,
    api_items,
    free_port,
    make_champion,
    raw_booster_row,
    serve_booster,
    wait_http,
    with_events,
)

LUA = """
local f = io.open(os.getenv("BENCH_BODY"), "rb")
wrk.body = f:read("*a")
f:close()
wrk.method = os.getenv("BENCH_METHOD")
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY")
if key ~= "" then wrk.headers["X-API-Key"] = key end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nBENCH {"requests": %d, "seconds": %f, "errors": %d, "non2xx": %d, '
    .. '"p50_ms": %f, "p99_ms": %f, "max_ms": %f}\\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3))
end
"""


@dataclass
class Target:
    name: str
    url: str
    body: Path
    method: str = "POST"
    key: str = API_KEY
    cells: dict[int, list[dict[str, float]]] = field(default_factory=dict)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: apt-get install wrk (as root)")
    print("installing wrk (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL
    )
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("apt-get installed wrk, but it is not on PATH")
    return found


def run_wrk(
    wrk: str, lua: Path, target: Target, connections: int, seconds: float
) -> dict[str, float]:
    env = {
        **os.environ,
        "BENCH_BODY": str(target.body),
        "BENCH_METHOD": target.method,
        "BENCH_KEY": target.key,
    }
    threads = 1 if connections == 1 else 2
    out = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(lua),
            target.url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH "))
    result: dict[str, float] = json.loads(line[len("BENCH ") :])
    result["rps"] = result["requests"] / result["seconds"]
    if result["errors"] or result["non2xx"]:
        raise RuntimeError(f"{target.name} c={connections}: {result}")
    return result


def start_handoff(
    settings: Any, port: int, workers: int, work: Path, name: str, extra: dict[str, str]
) -> subprocess.Popen[bytes]:
    from serving.security import hash_key

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")},
        "HANDOFF_HOME": str(settings.home),
        "HANDOFF_API_KEY_HASHES": hash_key(API_KEY),
        "HANDOFF_DATABASE_URL": f"sqlite:///{work / f'{name}.sqlite'}",
        "HANDOFF_WORKERS": str(workers),
        **extra,
    }
    variant = extra.get("BENCH_VARIANT")
    command = (
        [sys.executable, str(HERE / "serve_variant.py"), str(port)]
        if variant
        else [sys.executable, "-m", "handoff_cli", "serve", "--port", str(port)]
    )
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(work / f"{name}.log", "wb"),
        start_new_session=True,
    )


def median(cells: list[dict[str, float]], key: str) -> float:
    return statistics.median(c[key] for c in cells)


def report(targets: dict[str, Target], levels: list[int], n: int) -> None:
    print(f"\n== load (wrk, loopback, {n} workers where N; median of rounds) ==")
    print(f"{'target':<16}{'c':>4}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, t in targets.items():
        for c in levels:
            cells = t.cells[c]
            print(
                f"{name:<16}{c:>4}{median(cells, 'rps'):>10.0f}{median(cells, 'p50_ms'):>10.2f}"
                f"{median(cells, 'p99_ms'):>10.2f}{median(cells, 'max_ms'):>10.1f}"
            )
    if not {"handoff-1", "handoff-N", "healthz-N", "mlflow-1", "mlflow-N"} <= set(targets):
        return  # a partial run (--only): no ratios
    print("\n== ratios (req/s) and targets ==")

    def rps(name: str, c: int) -> float:
        return median(targets[name].cells[c], "rps")

    for c in levels:
        h, m, z = rps("handoff-N", c), rps("mlflow-N", c), rps("healthz-N", c)
        print(
            f"c={c:<3} handoff-N / mlflow-N {h / m:5.2f} (target >= 1.5)   "
            f"handoff-N / healthz-N {h / z:5.2f} (target >= 0.25)   "
            f"handoff-N / handoff-1 {h / rps('handoff-1', c):5.2f}   "
            f"mlflow-N / mlflow-1 {m / rps('mlflow-1', c):5.2f}"
        )
    p99 = {c: median(targets["handoff-N"].cells[c], "p99_ms") for c in levels}
    if 1 in p99:
        print(f"handoff-N p99 at c=1: {p99[1]:.1f} ms (target <= 10)")
    if 32 in p99:
        print(f"handoff-N p99 at c=32: {p99[32]:.1f} ms (target <= 50)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--train-leads", type=int, default=3_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="N")
    parser.add_argument("--levels", default="1,8,32", help="wrk connections, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", action="store_true", help="also the design alternatives")
    parser.add_argument("--only", default="", help="comma-separated target names to run")
    parser.add_argument("--work", type=Path, help="keep the work folder (and champion) here")
    args = parser.parse_args()

    wrk = ensure_wrk()
    from models.mlflow_setup import disable_telemetry

    disable_telemetry()
    tmp = tempfile.TemporaryDirectory()
    work = args.work or Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    n, levels = args.workers, [int(x) for x in args.levels.split(",")]

    t = time.perf_counter()
    if (work / "home" / "mlflow.db").exists():
        from serving.security import hash_key
        from serving.settings import ServingSettings

        settings = ServingSettings(home=work / "home", api_key_hashes=[hash_key(API_KEY)])
    else:
        settings = make_champion(work, args.train_leads)
    print(f"champion ready in {time.perf_counter() - t:.0f} s", flush=True)
    from data_contracts.synthetic import generate_to_folder

    score_dir = work / "score"
    if not (score_dir / "leads.parquet").exists():
        generate_to_folder(n_leads=200, seed=5, out_dir=score_dir)
    single = with_events(api_items(score_dir, 1)[0], 20)
    booster, raw_body = raw_booster_row(settings, single)
    bodies = {"score": work / "score.json", "raw": work / "raw.json", "none": work / "none.json"}
    bodies["score"].write_text(json.dumps(single))
    bodies["raw"].write_text(json.dumps(raw_body))
    bodies["none"].write_text("")
    lua = work / "bench.lua"
    lua.write_text(LUA)

    servers: dict[str, tuple[int, int, dict[str, str]]] = {  # name -> (port, workers, env)
        "handoff-1": (free_port(), 1, {}),
        "handoff-N": (free_port(), n, {}),
    }
    if args.variants:
        servers.update(
            {
                "uvloop-N": (free_port(), n, {"HANDOFF_EVENT_LOOP": "uvloop"}),
                "eventloop-N": (free_port(), n, {"BENCH_VARIANT": "eventloop"}),
                "eventloop-direct-N": (free_port(), n, {"BENCH_VARIANT": "eventloop-direct"}),
                "no-freeze-N": (free_port(), n, {"BENCH_VARIANT": "no-freeze"}),
                "poll-fast-N": (free_port(), n, {"HANDOFF_RELOAD_INTERVAL_SECONDS": "0.2"}),
                "switch-N": (free_port(), n, {"BENCH_VARIANT": "switch-0.5ms"}),
            }
        )
    only = set(filter(None, args.only.split(",")))
    procs: list[subprocess.Popen[bytes]] = []
    ready: list[tuple[str, subprocess.Popen[bytes]]] = []  # (readiness URL, its server)
    targets: dict[str, Target] = {}
    try:
        for name, (port, workers, extra) in servers.items():
            wanted = {name, "healthz-N"} if name == "handoff-N" else {name}
            if only and not wanted & only:
                continue  # an idle server still polls the registry: start only what is measured
            procs.append(start_handoff(settings, port, workers, work, name, extra))
            ready.append((f"http://127.0.0.1:{port}/readyz", procs[-1]))
            targets[name] = Target(name, f"http://127.0.0.1:{port}/v1/score", bodies["score"])
            if name == "handoff-N":
                targets["healthz-N"] = Target(
                    "healthz-N", f"http://127.0.0.1:{port}/healthz", bodies["none"], "GET", ""
                )
        for name, workers in (("mlflow-1", 1), ("mlflow-N", n)):
            if only and name not in only:
                continue
            port = free_port()
            shutil.rmtree(work / name, ignore_errors=True)  # a fresh store for the booster
            procs.append(serve_booster(booster, work / name, port, workers=workers))
            ready.append((f"http://127.0.0.1:{port}/ping", procs[-1]))
            targets[name] = Target(
                name, f"http://127.0.0.1:{port}/invocations", bodies["raw"], key=""
            )
        for url, proc in ready:
            wait_http(url, proc)
        if only:
            targets = {k: v for k, v in targets.items() if k in only}
        print(f"{len(procs)} servers up; load: {os.getloadavg()[0]:.1f}", flush=True)
        for target in targets.values():  # warm-up: first requests, connections, caches
            run_wrk(wrk, lua, target, 8, 2)
        for r in range(args.rounds):
            for c in levels:
                for target in targets.values():
                    target.cells.setdefault(c, []).append(
                        run_wrk(wrk, lua, target, c, args.seconds)
                    )
            print(f"round {r + 1}/{args.rounds} done; load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
    report(targets, levels, n)


if __name__ == "__main__":
    main()
