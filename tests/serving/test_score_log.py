"""Every score answered is in the score log: after a graceful stop, and after `kill -9`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from serving.score_log import read_rows
from serving.security import hash_key
from tests.conftest import backend_env
from tests.serving.conftest import (
    API_KEY,
    HEADERS,
    Api,
    LiveServer,
    free_port,
    lead_payload,
    ready,
    serving_settings,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _serve(
    api: Api, log_url: str, *, workers: int, stderr: Any
) -> tuple[subprocess.Popen[bytes], str]:
    """`handoff serve` on the test store, its score log at `log_url`, in its own session."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")},
        **backend_env(api.registry.settings),
        "HANDOFF_API_KEY_HASHES": hash_key(API_KEY),
        "HANDOFF_DATABASE_URL": log_url,
        "HANDOFF_RELOAD_INTERVAL_SECONDS": "0.5",
        "HANDOFF_ACCESS_LOG": "false",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "handoff_cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while not ready(url):
        assert proc.poll() is None, "handoff serve exited early"
        assert time.monotonic() < deadline, "handoff serve never became ready"
        time.sleep(0.2)
    return proc, url


def _log_url(api: Api, tmp_path: Path) -> str:
    """A fresh score log on the test backend (a SQLite file unless PostgreSQL is chosen)."""
    from tests.conftest import BACKEND_ENV, fresh_postgres_database

    if os.environ.get(BACKEND_ENV) == "postgresql":
        return fresh_postgres_database("score_log")
    return f"sqlite:///{tmp_path / 'score_log.sqlite'}"


def test_score_log_survives_sigterm_and_restart(api: Api, tmp_path: Path) -> None:
    log_url = _log_url(api, tmp_path)
    proc, url = _serve(api, log_url, workers=1, stderr=subprocess.DEVNULL)
    try:
        for i in range(5):
            answer = httpx.post(f"{url}/v1/score", json=lead_payload(f"P-{i}"), headers=HEADERS)
            assert answer.status_code == 200
        batch = {"items": [lead_payload(f"Q-{i}") for i in range(10)]}
        assert httpx.post(f"{url}/v1/score/batch", json=batch, headers=HEADERS).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    # uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM is a clean exit.
    assert proc.returncode in (0, -signal.SIGTERM)
    rows = read_rows(log_url)
    assert len(rows) == 15
    assert {r["lead_id"] for r in rows} >= {"P-0", "Q-9"}
    assert {r["model_version"] for r in rows} <= {api.registry.v1, api.registry.v2}

    settings = serving_settings(api.registry.settings.home, **_same_stores(api, log_url))
    again = LiveServer(settings).start()
    try:
        answer = httpx.post(f"{again.url}/v1/score", json=lead_payload("R-1"), headers=HEADERS)
        assert answer.status_code == 200
    finally:
        again.stop()
    rows = read_rows(log_url)
    assert len(rows) == 16 and rows[-1]["lead_id"] == "R-1"


def _same_stores(api: Api, log_url: str) -> dict[str, Any]:
    tracking = api.registry.settings.tracking_uri
    return {"database_url": log_url, **({"tracking_uri": tracking} if tracking else {})}


def _load(url: str, stop: threading.Event, answered: list[tuple[str, str]], k: int) -> None:
    """Single and batch requests until stopped; every 200's (request id, lead id) kept."""
    with httpx.Client(base_url=url, headers=HEADERS, timeout=30) as client:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                if i % 5:
                    r = client.post("/v1/score", json=lead_payload(f"K{k}-{i}"))
                    if r.status_code == 200:
                        body = r.json()
                        answered.append((body["request_id"], body["lead_id"]))
                else:
                    items = [lead_payload(f"K{k}-{i}-{j}") for j in range(5)]
                    r = client.post("/v1/score/batch", json={"items": items})
                    if r.status_code == 200:
                        body = r.json()
                        answered.extend(
                            (body["request_id"], x["result"]["lead_id"]) for x in body["results"]
                        )
            except httpx.TransportError:
                return  # the server was killed under us: what was answered is what counts


def kill_9_during(
    proc: subprocess.Popen[bytes],
    clients: list[threading.Thread],
    stop: threading.Event,
    enough: Callable[[], bool],
) -> None:
    """Start the client threads, wait until `enough()` (60 s at most), then SIGKILL every
    server process at once and let the clients finish with what they were told."""
    try:
        for c in clients:
            c.start()
        deadline = time.monotonic() + 60
        while not enough() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        stop.set()
        for c in clients:
            c.join(timeout=60)


@pytest.mark.slow
def test_kill_9_under_load_loses_no_answered_score(api: Api, tmp_path: Path) -> None:
    """Two workers writing the same log, killed (SIGKILL, every process at once) in the
    middle of a load: every answer a client received has its row."""
    log_url = _log_url(api, tmp_path)
    proc, url = _serve(api, log_url, workers=2, stderr=subprocess.DEVNULL)
    answered: list[tuple[str, str]] = []
    stop = threading.Event()
    clients = [
        threading.Thread(target=_load, args=(url, stop, answered, k), daemon=True) for k in range(6)
    ]
    kill_9_during(proc, clients, stop, lambda: len(answered) >= 400)
    assert len(answered) >= 400
    logged = {(r["request_id"], r["lead_id"]) for r in read_rows(log_url)}
    missing = [a for a in answered if a not in logged]
    assert missing == [], f"{len(missing)} of {len(answered)} answered scores are not in the log"
