"""Single-lead latency with and without a challenger scored in the shadow, in the same run.

Not a timed test: run it by hand (`nice .venv/bin/python tests/benchmarks/bench_challenger.py`).
It trains one small champion (as `bench_serving.py` does), registers a second version from
the same run files, signs it off and gives it the `challenger` alias, then starts two
`handoff serve --workers 1` processes on the same registry: one with
`HANDOFF_SHADOW_CHALLENGER=false`, one with the challenger. Rounds alternate between them
(sequential single-lead requests on one keep-alive client, back to back and with a think
time between requests), so both see the same machine load. It prints p50/p95/p99 for each,
and checks the shadow log holds one challenger row per answered lead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from bench_serving import API_KEY, api_items, free_port, make_champion, wait_http  # noqa: E402


def add_challenger(settings: Any) -> str:
    """A second version of the champion's files, signed off, as the challenger."""
    import mlflow

    from models.mlflow_layout import CHALLENGER, CHAMPION
    from models.mlflow_setup import configure_mlflow
    from training.signoff import record_signoff

    configure_mlflow(settings)
    client = mlflow.MlflowClient()
    first = client.get_model_version_by_alias(settings.model_name, CHAMPION)
    second = client.create_model_version(
        settings.model_name, source=first.source, run_id=first.run_id
    )
    for key, value in first.tags.items():
        if key.startswith("handoff.") and key != "handoff.status":
            client.set_model_version_tag(settings.model_name, second.version, key, value)
    for team in ("marketing", "bdr"):
        record_signoff(
            str(second.version),
            team=team,
            by=f"benchmark-{team}",
            approve=True,
            comment="",
            settings=settings,
        )
    client.set_registered_model_alias(settings.model_name, CHALLENGER, second.version)
    return str(second.version)


def serve(settings: Any, work: Path, shadow: bool) -> tuple[subprocess.Popen[bytes], str, str]:
    port = free_port()
    db = f"sqlite:///{work / ('shadow' if shadow else 'plain')}.sqlite"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")},
        "HANDOFF_HOME": str(settings.home),
        "HANDOFF_API_KEY_HASHES": ",".join(settings.api_key_hashes),
        "HANDOFF_DATABASE_URL": db,
        "HANDOFF_SHADOW_CHALLENGER": "true" if shadow else "false",
        "HANDOFF_ACCESS_LOG": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "handoff_cli", "serve", "--port", str(port), "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/readyz", proc)
    return proc, url, db


def round_ms(url: str, items: list[dict[str, Any]], think: float) -> list[float]:
    out = []
    with httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=30) as client:
        for item in items:
            start = time.perf_counter()
            r = client.post("/v1/score", json=item)
            out.append((time.perf_counter() - start) * 1000)
            assert r.status_code == 200, r.text
            if think:
                time.sleep(think)
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-leads", type=int, default=4000)
    parser.add_argument("--requests", type=int, default=100, help="per round and server")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--think-ms", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-challenger-") as tmp:
        work = Path(tmp)
        settings = make_champion(work, args.train_leads)
        challenger = add_challenger(settings)
        items = api_items(work / "train", args.requests)
        servers = {name: serve(settings, work, name == "with") for name in ("without", "with")}
        time.sleep(3)  # the challenger holder's first load
        try:
            results: dict[tuple[str, float], list[float]] = {}
            for _ in range(args.rounds):
                for think in (0.0, args.think_ms / 1000):
                    for name, (_, url, _) in servers.items():
                        results.setdefault((name, think), []).extend(round_ms(url, items, think))
        finally:
            for proc, _, _ in servers.values():
                proc.terminate()
                proc.wait(timeout=60)
        from serving.shadow import read_shadow_rows

        shadow_rows = read_shadow_rows(servers["with"][2])
    print(f"challenger version {challenger}; shadow rows {len(shadow_rows)}")
    print(f"{'server':>8} {'think ms':>8} {'n':>5} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for (name, think), values in results.items():
        print(
            f"{name:>8} {think * 1000:>8.0f} {len(values):>5} {pct(values, 50):>7.2f} "
            f"{pct(values, 95):>7.2f} {pct(values, 99):>7.2f}"
        )


if __name__ == "__main__":
    main()
