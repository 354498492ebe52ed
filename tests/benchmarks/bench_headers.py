"""Oversized request heads against `handoff serve`, and the throughput that must not pay for it.

Not a timed test: run it by hand (`nice .venv/bin/python tests/benchmarks/bench_headers.py`).
It trains a small champion (as `bench_serving.py` does; `--work DIR` keeps it for the next
run), starts `handoff serve` on a free loopback port and measures:

- one request whose `X-API-Key` header is `--header-mib` MiB, sent over a raw socket: the
  time until the server answers (its status) or drops the connection;
- a keep-alive `/healthz` probe running meanwhile: its slowest answer and how many it got;
- `/healthz` and `/v1/score` requests/s from `--clients` keep-alive connections (one aiohttp
  loop), over `--rounds` rounds (the median is printed).

Client and server share the same cores, so throughput figures include the client's cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_serving import (  # noqa: E402
    API_KEY,
    ROOT,
    api_items,
    free_port,
    make_champion,
    wait_http,
    with_events,
)


def oversized_head(url_host: str, port: int, mib: int) -> tuple[float, str]:
    """Send a request whose API key header is `mib` MiB; (seconds to the answer, what came)."""
    head = (
        b"POST /v1/score HTTP/1.1\r\nHost: " + url_host.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 2\r\nX-API-Key: "
    )
    piece = b"k" * (1 << 20)
    sock = socket.create_connection((url_host, port))
    sock.settimeout(120)
    outcome: list[str] = []

    def send_all() -> None:
        try:
            sock.sendall(head)
            for _ in range(mib):
                sock.sendall(piece)
            sock.sendall(b"\r\n\r\n{}")
        except OSError as exc:
            outcome.append(f"send stopped: {type(exc).__name__}")

    sender = threading.Thread(target=send_all, daemon=True)
    started = time.perf_counter()
    sender.start()
    try:
        first = sock.recv(4096)
        answer = first.split(b"\r\n", 1)[0].decode("latin-1") if first else "closed, no answer"
    except OSError as exc:
        answer = f"connection error: {type(exc).__name__}"
    seconds = time.perf_counter() - started
    sock.close()
    sender.join(timeout=120)
    return seconds, answer + (f" ({outcome[0]})" if outcome else "")


class HealthProbe:
    """Keep-alive `/healthz` requests in a thread, timing each one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seconds: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                t = time.perf_counter()
                try:
                    ok = client.get(f"{self.url}/healthz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.seconds.append(time.perf_counter() - t)
                self.failures += not ok
                time.sleep(0.005)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        time.sleep(0.3)
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.3)
        self._stop.set()
        self._thread.join(timeout=60)


def rps(
    method: str, url: str, body: bytes | None, headers: dict[str, str], clients: int, per: int
) -> float:
    """Requests/s from `clients` keep-alive connections in one asyncio loop (all must be 200)."""
    import aiohttp

    async def run() -> float:
        errors: list[int] = []
        connector = aiohttp.TCPConnector(limit=clients)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

            async def worker(n: int) -> None:
                for _ in range(n):
                    async with session.request(method, url, data=body) as r:
                        await r.read()
                        if r.status != 200:
                            errors.append(r.status)

            await asyncio.gather(*(worker(20) for _ in range(clients)))
            t = time.perf_counter()
            await asyncio.gather(*(worker(per) for _ in range(clients)))
            seconds = time.perf_counter() - t
        if errors:
            raise RuntimeError(f"{len(errors)} failed requests: {set(errors)}")
        return clients * per / seconds

    return asyncio.run(run())


def champion_settings(work: Path, train_leads: int) -> Any:
    """Reuse a champion trained by an earlier run in `work`, else train one."""
    from serving.security import hash_key
    from serving.settings import ServingSettings

    if (work / "home" / "mlflow.db").exists():
        return ServingSettings(home=work / "home", api_key_hashes=[hash_key(API_KEY)])
    return make_champion(work, train_leads)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--train-leads", type=int, default=3_000)
    parser.add_argument("--header-mib", type=int, default=64)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--per-client", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, help="keep (and reuse) the work folder here")
    args = parser.parse_args()

    from models.mlflow_setup import disable_telemetry
    from serving.security import hash_key

    disable_telemetry()
    tmp = tempfile.TemporaryDirectory()
    work = args.work or Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    settings = champion_settings(work, args.train_leads)
    score_dir = work / "score"
    if not (score_dir / "leads.parquet").exists():
        from data_contracts.synthetic import generate_to_folder

        generate_to_folder(n_leads=100, seed=5, out_dir=score_dir)
    single = json.dumps(with_events(api_items(score_dir, 1)[0], 20)).encode()

    port = free_port()
    env = {
        **os.environ,
        "HANDOFF_HOME": str(settings.home),
        "HANDOFF_API_KEY_HASHES": hash_key(API_KEY),
        "HANDOFF_SCORE_LOG_PATH": str(work / "bench_headers_score_log.sqlite"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "handoff_cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/readyz", server)
        with HealthProbe(url) as probe:
            seconds, answer = oversized_head("127.0.0.1", port, args.header_mib)
        slowest = max(probe.seconds) * 1000
        p50 = statistics.median(probe.seconds) * 1000
        key = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
        health, scores = [], []
        for _ in range(args.rounds):
            health.append(rps("GET", f"{url}/healthz", None, {}, args.clients, args.per_client))
            scores.append(
                rps("POST", f"{url}/v1/score", single, key, args.clients, args.per_client)
            )
    finally:
        server.terminate()
        server.wait(timeout=60)

    print("\n== oversized request head (loopback, client on the same cores) ==")
    print(f"{args.header_mib} MiB X-API-Key header: {answer} after {seconds:.3f} s")
    print(
        f"/healthz probe meanwhile: {len(probe.seconds)} answers, {probe.failures} failed, "
        f"median {p50:.1f} ms, slowest {slowest:.1f} ms"
    )
    print(f"throughput, {args.clients} keep-alive clients, median of {args.rounds} rounds:")
    print(
        f"  /healthz  {statistics.median(health):7.0f} req/s  (rounds: {[round(x) for x in health]})"
    )
    print(
        f"  /v1/score {statistics.median(scores):7.0f} req/s  (rounds: {[round(x) for x in scores]})"
    )


if __name__ == "__main__":
    main()
