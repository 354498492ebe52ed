"""Serving speed, side by side with `mlflow models serve` on the champion's raw booster.

Not a timed test: run it by hand (`nice .venv/bin/python tests/benchmarks/bench_serving.py
--score-leads 1000000`). It trains a small champion in a temporary store (signed off by two
clearly fake reviewers; loose gate bounds are passed explicitly, a toy model is not the point),
starts `handoff serve` and `mlflow models serve --env-manager local` (the fit LightGBM
booster, logged as an mlflow lightgbm model) on free loopback ports, and measures a bounded
number of requests from httpx clients:

- single lead (20 events, reasons on) p50 / p99 latency, sequential, one keep-alive client;
- throughput with `--concurrency` concurrent connections (one aiohttp loop);
- one 10,000-lead `/v1/score/batch` request;
- `score_folder` (`handoff score`) over `--score-leads` generated leads.

Targets (2 cores): 10k batch < 1 s, 1M-lead folder < 5 min. Throughput and tail latency
against `mlflow models serve` are measured with a standard load tool by `bench_load.py`
(targets there); the figures here come from Python clients, which cost the shared cores
more than the server does.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

API_KEY = "bench-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} never answered 200")


def make_champion(work: Path, train_leads: int) -> Any:
    """Train, sign off (fake reviewers) and promote one version; return its settings."""
    import training.promote
    from data_contracts.synthetic import generate_to_folder
    from models.mlflow_layout import SMALL_DATA
    from serving.security import hash_key
    from serving.settings import ServingSettings
    from training.signoff import record_signoff
    from training.train import run_training

    settings = ServingSettings(home=work / "home", api_key_hashes=[hash_key(API_KEY)])
    generate_to_folder(n_leads=train_leads, seed=3, out_dir=work / "train")
    version = run_training(work / "train", settings=settings).version
    for team in ("marketing", "bdr"):
        record_signoff(
            version,
            team=team,
            by=f"benchmark-{team}",
            approve=True,
            acknowledge=(SMALL_DATA,),  # a toy store: too few wins to trust, acknowledged
            comment="",
            settings=settings,
        )
    # A toy champion: the metric gates are not the point here, so loose bounds are passed
    # explicitly (and recorded in the audit log); the sign-offs are still required.
    training.promote.promote_version(
        version,
        settings=settings,
        by="benchmark",
        max_ece=1.0,
        auc_tolerance=1.0,
        baseline_margin=-1.0,
    )
    return settings


def api_items(data_dir: Path, n: int, events_per_lead: int | None = None) -> list[dict[str, Any]]:
    """`ScoreIn` payloads from a generated folder (real-looking leads and their events)."""
    leads = pd.read_parquet(data_dir / "leads.parquet").head(n)
    events = pd.read_parquet(data_dir / "events.parquet")
    events = events[events["lead_id"].isin(set(leads["lead_id"]))]
    extracted = json.loads((data_dir / "manifest.json").read_text())["extracted_at"]
    as_of = pd.Timestamp(extracted)
    events = events[events["occurred_at"] < as_of]
    by_lead = {k: g for k, g in events.groupby("lead_id")}
    items = []
    for lead in leads.to_dict("records"):
        ev = by_lead.get(lead["lead_id"], events.iloc[:0])
        if events_per_lead is not None:
            ev = ev.tail(events_per_lead)
        created = min(pd.Timestamp(lead["created_at"]), as_of - pd.Timedelta(seconds=1))
        body: dict[str, Any] = {
            "lead_id": str(lead["lead_id"]),
            "created_at": created.isoformat(),
            "seniority": lead["seniority"],
            "function": lead["function"],
            "source": lead["source"],
            "is_named_account": bool(lead["is_named_account"]),
        }
        for key in ("email", "company", "industry", "country", "title", "phone", "mobile"):
            value = lead.get(key)
            if isinstance(value, str):
                body[key] = value
        if lead.get("employees") is not None and not pd.isna(lead["employees"]):
            body["employees"] = int(lead["employees"])
        if lead.get("annual_revenue") is not None and not pd.isna(lead["annual_revenue"]):
            body["annual_revenue"] = float(lead["annual_revenue"])
        items.append(
            {
                "lead": body,
                "as_of": as_of.isoformat(),
                "events": [
                    {
                        "occurred_at": pd.Timestamp(e["occurred_at"]).isoformat(),
                        "type": e["type"],
                        **({"channel": e["channel"]} if isinstance(e["channel"], str) else {}),
                    }
                    for e in ev.to_dict("records")
                ],
            }
        )
    return items


def with_events(item: dict[str, Any], n: int) -> dict[str, Any]:
    """Pad or trim to exactly n events (repeating its own, or a web visit) before as_of."""
    as_of = pd.Timestamp(item["as_of"])
    events = list(item["events"])[-n:]
    while len(events) < n:
        when = as_of - pd.Timedelta(hours=len(events) + 1)
        events.append({"occurred_at": when.isoformat(), "type": "web_visit", "channel": "web"})
    return {**item, "events": events}


def champion_booster(scorer: Any) -> tuple[Any, Any]:
    """The first LightGBM booster among the champion's scores (fit, interest, combined;
    alone or in a blend) and the matrix columns it reads."""
    from models.boosted import BoostedLearner

    for model in scorer.models_.values():
        for learner in (model.learner, *getattr(model.learner, "members", ())):
            if isinstance(learner, BoostedLearner):
                return learner.booster_, model.columns
    raise SystemExit("the champion serves no LightGBM model: no raw booster to compare with")


def raw_booster_row(settings: Any, item: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A champion booster and one encoded feature row in MLflow's dataframe_split."""
    import mlflow

    from models.encoding import encode_columns
    from models.mlflow_setup import configure_mlflow
    from models.pyfunc import FEATURES_KEY
    from serving.account_scoring import lead_account_inputs
    from serving.schemas import ScoreIn
    from serving.scoring import aware_us, build_columns

    configure_mlflow(settings)
    model = mlflow.pyfunc.load_model(
        f"models:/{settings.model_name}@champion"
    ).unwrap_python_model()
    scorer = model.scorer
    req = ScoreIn.model_validate(item)
    assert req.as_of is not None
    leads, events = build_columns([req.lead], [req.events])
    accounts = lead_account_inputs([req], [req.as_of]) if model.reads_accounts else None
    cols = model.score_columns(
        leads, events, aware_us([req.as_of]), reasons=False, keep_features=True, accounts=accounts
    )[FEATURES_KEY]  # the columns the model builds, account features included
    M, _ = encode_columns(cols, 1, scorer.columns_, scorer.categories_)
    booster, columns = champion_booster(scorer)
    row = M[:, columns][0]
    # JSON has no NaN and mlflow's parser turns null columns into objects LightGBM rejects:
    # missing values go over the wire as 0.0 (same work for the booster).
    data = [[0.0 if np.isnan(v) else float(v) for v in row]]
    return booster, {"dataframe_split": {"columns": booster.feature_name(), "data": data}}


def serve_booster(booster: Any, work: Path, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    """`mlflow models serve -w WORKERS` on the booster, logged in a store of its own (in a
    session of its own, so the whole process group can be stopped)."""
    import mlflow
    import mlflow.lightgbm

    work.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{work / 'raw.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    exp = mlflow.create_experiment("raw-booster", artifact_location=(work / "raw").as_uri())
    with mlflow.start_run(experiment_id=exp):
        info = mlflow.lightgbm.log_model(booster, name="model")
    bin_dir = str(Path(sys.executable).parent)  # mlflow execs `uvicorn` from PATH
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            info.model_uri,
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "mlflow_serve.log", "wb"),
        start_new_session=True,
    )


def latencies(url: str, body: bytes, headers: dict[str, str], n: int) -> list[float]:
    out = []
    with httpx.Client(headers={**headers, "Content-Type": "application/json"}, timeout=60) as c:
        for _ in range(20):
            c.post(url, content=body).raise_for_status()
        for _ in range(n):
            t = time.perf_counter()
            c.post(url, content=body).raise_for_status()
            out.append(time.perf_counter() - t)
    return out


def throughput(url: str, body: bytes, headers: dict[str, str], clients: int, per: int) -> float:
    """Requests/s from `clients` concurrent keep-alive connections in one asyncio loop.

    aiohttp (installed with mlflow) costs the shared cores far less per request than
    threads of httpx clients, so the figure says more about the server than the client.
    """
    import asyncio

    import aiohttp

    async def run() -> float:
        errors: list[int] = []
        connector = aiohttp.TCPConnector(limit=clients)
        hdrs = {**headers, "Content-Type": "application/json"}
        async with aiohttp.ClientSession(connector=connector, headers=hdrs) as session:

            async def worker(n: int) -> None:
                for _ in range(n):
                    async with session.post(url, data=body) as r:
                        await r.read()
                        if r.status != 200:
                            errors.append(r.status)

            await asyncio.gather(*(worker(20) for _ in range(clients)))  # warm connections
            t = time.perf_counter()
            await asyncio.gather(*(worker(per) for _ in range(clients)))
            seconds = time.perf_counter() - t
        if errors:
            raise RuntimeError(f"{len(errors)} failed requests: {set(errors)}")
        return clients * per / seconds

    return asyncio.run(run())


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a server and its worker processes (Linux `/proc`): what
    a request cost the server, whatever else the shared cores were doing meanwhile."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that ended meanwhile
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # fields[1]: the parent pid
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--train-leads", type=int, default=3_000)
    parser.add_argument("--score-leads", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument(
        "--batch-repeats", type=int, default=4, help="batch requests: the first, then the median"
    )
    parser.add_argument("--single", type=int, default=300, help="sequential single requests")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--per-thread", type=int, default=250, help="requests per connection")
    parser.add_argument("--work", type=Path, help="keep the work folder here")
    args = parser.parse_args()

    from models.mlflow_setup import disable_telemetry

    disable_telemetry()
    tmp = tempfile.TemporaryDirectory()
    work = args.work or Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}

    t = time.perf_counter()
    settings = make_champion(work, args.train_leads)
    print(f"champion trained and promoted in {time.perf_counter() - t:.0f} s", flush=True)
    from data_contracts.synthetic import generate_to_folder
    from serving.security import hash_key

    t = time.perf_counter()
    score_dir = work / "score"
    generate_to_folder(n_leads=max(args.score_leads, args.batch), seed=5, out_dir=score_dir)
    print(
        f"generated {max(args.score_leads, args.batch):,} leads in {time.perf_counter() - t:.0f} s",
        flush=True,
    )
    items = api_items(score_dir, args.batch)
    single = with_events(items[0], 20)

    hport, mport = free_port(), free_port()
    env = {
        **os.environ,
        "HANDOFF_HOME": str(settings.home),
        "HANDOFF_API_KEY_HASHES": hash_key(API_KEY),
        "HANDOFF_ACCESS_LOG": "true",
    }
    handoff = subprocess.Popen(
        [sys.executable, "-m", "handoff_cli", "serve", "--host", "127.0.0.1", "--port", str(hport)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    booster, raw_body = raw_booster_row(settings, single)
    mlflow_proc = serve_booster(booster, work, mport)
    try:
        wait_http(f"http://127.0.0.1:{hport}/readyz", handoff)
        wait_http(f"http://127.0.0.1:{mport}/ping", mlflow_proc)
        hurl, murl = f"http://127.0.0.1:{hport}/v1/score", f"http://127.0.0.1:{mport}/invocations"
        key = {"X-API-Key": API_KEY}
        hbody, mbody = json.dumps(single).encode(), json.dumps(raw_body).encode()

        lat_h = latencies(hurl, hbody, key, args.single)
        lat_m = latencies(murl, mbody, {}, args.single)
        results["single_p50_ms"] = (pct(lat_h, 50), pct(lat_m, 50))
        results["single_p99_ms"] = (pct(lat_h, 99), pct(lat_m, 99))
        results["single_mean_ms"] = (statistics.mean(lat_h) * 1000, statistics.mean(lat_m) * 1000)
        results["throughput_rps"] = (
            throughput(hurl, hbody, key, args.concurrency, args.per_thread),
            throughput(murl, mbody, {}, args.concurrency, args.per_thread),
        )
        batch_body = json.dumps({"items": items}).encode()
        with httpx.Client(headers={**key, "Content-Type": "application/json"}, timeout=600) as c:
            c.post(f"{hurl}/batch", content=json.dumps({"items": items[:100]}).encode())
            seconds, cpu = [], []
            for _ in range(args.batch_repeats):
                t, cpu_before = time.perf_counter(), server_cpu_seconds(handoff.pid)
                r = c.post(f"{hurl}/batch", content=batch_body)
                seconds.append(time.perf_counter() - t)
                cpu.append(server_cpu_seconds(handoff.pid) - cpu_before)
                r.raise_for_status()
            results["batch_first_seconds"] = seconds[0]
            results["batch_seconds"] = statistics.median(seconds[1:] or seconds)
            results["batch_cpu_seconds"] = statistics.median(cpu[1:] or cpu)
            results["batch_ok"] = r.json()["n_ok"]
            results["batch_mb"] = len(batch_body) / 1e6
    finally:
        for proc in (handoff, mlflow_proc):
            proc.terminate()
            proc.wait(timeout=60)

    from serving.batch_score import score_folder

    t = time.perf_counter()
    summary = score_folder(score_dir, out=work / "scores.parquet", settings=settings)
    results["folder_seconds"] = time.perf_counter() - t
    results["folder_summary"] = summary

    h, m = results["throughput_rps"]
    print("\n== serving benchmark (loopback, client on the same cores) ==")
    print(f"{'':34}{'handoff':>12}{'mlflow serve (raw fit booster)':>34}")
    for name in ("single_p50_ms", "single_p99_ms", "single_mean_ms"):
        a, b = results[name]
        print(f"{name:34}{a:>12.2f}{b:>34.2f}")
    print(f"{'throughput_rps (' + str(args.concurrency) + ' clients)':34}{h:>12.0f}{m:>34.0f}")
    print(f"throughput ratio handoff / mlflow: {h / m:.1f}x (Python client; see bench_load.py)")
    print(
        f"batch of {args.batch:,} leads ({results['batch_mb']:.1f} MB, {results['batch_ok']:,} ok): "
        f"first after start {results['batch_first_seconds']:.2f} s, then median "
        f"{results['batch_seconds']:.2f} s (target < 1 s); server CPU per batch, median "
        f"{results['batch_cpu_seconds']:.2f} s (load {os.getloadavg()[0]:.1f})"
    )
    print(f"score_folder over {args.score_leads:,} leads: {results['folder_seconds']:.1f} s")
    print(summary)


if __name__ == "__main__":
    main()
