"""Every score served lands in the SQLite score log, and survives a stop and a restart."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from serving.score_log import ScoreLog, read_rows
from serving.security import hash_key
from tests.serving.conftest import (
    API_KEY,
    HEADERS,
    Api,
    LiveServer,
    free_port,
    lead_payload,
    serving_settings,
)

ROOT = Path(__file__).resolve().parents[2]


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"server exited early: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server never became ready")


def test_score_log_survives_sigterm_and_restart(api: Api, tmp_path: Path) -> None:
    log_path = tmp_path / "score_log.sqlite"
    home = api.registry.settings.home
    port = free_port()
    env = {
        **os.environ,
        "HANDOFF_HOME": str(home),
        "HANDOFF_API_KEY_HASHES": hash_key(API_KEY),
        "HANDOFF_SCORE_LOG_PATH": str(log_path),
        "HANDOFF_RELOAD_INTERVAL_SECONDS": "0.5",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "handoff_cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc)
        for i in range(5):
            assert (
                httpx.post(
                    f"{url}/v1/score", json=lead_payload(f"P-{i}"), headers=HEADERS
                ).status_code
                == 200
            )
        batch = {"items": [lead_payload(f"Q-{i}") for i in range(10)]}
        assert httpx.post(f"{url}/v1/score/batch", json=batch, headers=HEADERS).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    # uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM is a clean exit.
    assert proc.returncode in (0, -signal.SIGTERM)
    rows = read_rows(log_path)
    assert len(rows) == 15
    assert {r["lead_id"] for r in rows} >= {"P-0", "Q-9"}
    assert rows[0]["model_version"] == api.registry.v1
    with sqlite3.connect(log_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    again = LiveServer(serving_settings(home, score_log_path=log_path)).start()
    try:
        assert (
            httpx.post(
                f"{again.url}/v1/score", json=lead_payload("R-1"), headers=HEADERS
            ).status_code
            == 200
        )
    finally:
        again.stop()
    rows = read_rows(log_path)
    assert len(rows) == 16 and rows[-1]["lead_id"] == "R-1"


def test_score_log_writer_batches_and_drains_on_close(tmp_path: Path) -> None:
    log = ScoreLog(tmp_path / "log.sqlite")
    log.start()
    row = ("r", "lead", "1", 1, 2, 3, 0.01, 0.02, 0.03, "nurture", "2026-01-01T00:00:00Z", "now")
    for _ in range(200):
        log.append([row] * 50)
    log.close()
    assert log.written == 10_000
    assert len(read_rows(tmp_path / "log.sqlite")) == 10_000
