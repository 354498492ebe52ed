"""Several worker processes behind one port: readiness and metrics speak for all of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from serving.workers import WorkerBoard, WorkerState, readiness
from tests.serving.conftest import HEADERS, SERVED_WORKERS, Api, Served, lead_payload
from tests.serving.test_app import metric_samples

NO = "no champion: sign off and promote a version (handoff promote VERSION)"


def test_readiness_every_worker_has_the_same_champion_is_ready() -> None:
    got = readiness([WorkerState(1, "3", ""), WorkerState(2, "3", "")], expected=2)
    assert (got.ready, got.version, got.reason) == (True, "3", None)


def test_readiness_a_worker_not_yet_started_is_not_ready() -> None:
    got = readiness([WorkerState(1, "3", "")], expected=2)
    assert (got.ready, got.reason) == (False, "1 of 2 workers have started")


def test_readiness_one_worker_without_champion_is_not_ready_with_its_reason() -> None:
    got = readiness([WorkerState(1, "3", ""), WorkerState(2, None, NO)], expected=2)
    assert (got.ready, got.reason) == (False, f"1 of 2 workers: {NO}")
    none = readiness([WorkerState(1, None, NO), WorkerState(2, None, NO)], expected=2)
    assert (none.ready, none.reason) == (False, NO)


def test_readiness_mid_swap_stays_ready_without_one_version() -> None:
    got = readiness([WorkerState(1, "10", ""), WorkerState(2, "9", "")], expected=2)
    assert (got.ready, got.version) == (True, None)
    assert got.reason == "workers are changing version (serving 9, 10)"


def test_board_ignores_the_files_of_dead_workers(tmp_path: Path) -> None:
    board = WorkerBoard(tmp_path, expected=1)
    board.publish("4", "")
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = int(gone.stdout)
    (tmp_path / f"worker-{dead}.json").write_text(
        f'{{"pid": {dead}, "version": null, "reason": "x"}}'
    )
    assert board.states() == [WorkerState(board.pid, "4", "")]
    assert board.readiness().ready
    board.withdraw()
    assert not board.readiness().ready


@pytest.mark.e2e
def test_metrics_sum_every_worker_whichever_answers(served: Served) -> None:
    """Fresh connections land on either worker; every scrape counts all their requests."""
    before = _score_requests(served)
    for i in range(12):
        with httpx.Client(base_url=served.url, headers=HEADERS, timeout=60) as fresh:
            assert fresh.post("/v1/score", json=lead_payload(f"W-{i}")).status_code == 200
    scrapes = []
    for _ in range(6):
        with httpx.Client(base_url=served.url, timeout=60) as fresh:
            scrapes.append(metric_samples(fresh.get("/metrics").text))
    for samples in scrapes:
        assert _count(samples) - before == 12
        assert samples[("handoff_model_loaded", ())] == 1  # the minimum over the workers


@pytest.mark.e2e
def test_a_dead_worker_makes_the_server_unready_until_its_replacement_has_the_champion(
    served: Served,
) -> None:
    """uvicorn restarts a killed worker; until the new one has loaded the champion, the
    other's `/readyz` says the server is not ready."""
    version = httpx.get(f"{served.url}/readyz").json()["model_version"]
    workers = _worker_pids(served.pid)
    assert len(workers) == SERVED_WORKERS
    os.kill(workers[0], signal.SIGKILL)
    seen: list[tuple[int, str | None]] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        body = httpx.get(f"{served.url}/readyz", timeout=30)
        seen.append((body.status_code, body.json().get("reason")))
        recovered = body.status_code == 200 and any(status == 503 for status, _ in seen)
        if recovered and len(_worker_pids(served.pid)) == SERVED_WORKERS:
            break
        time.sleep(0.1)
    refusals = {reason for status, reason in seen if status == 503}
    assert refusals and refusals <= {"1 of 2 workers have started", f"1 of 2 workers: {NO}"}
    assert seen[-1][0] == 200
    assert httpx.get(f"{served.url}/readyz").json()["model_version"] == version


def _worker_pids(supervisor: int) -> list[int]:
    """The supervisor's worker processes (its other child is multiprocessing's tracker)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    pids = []
    for pid in map(int, children):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:
            pids.append(pid)
    return pids


def _count(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    return sum(
        v
        for (name, labels), v in samples.items()
        if name == "handoff_http_requests_total"
        and dict(labels) == {"method": "POST", "path": "/v1/score", "status": "200"}
    )


def _score_requests(served: Served) -> float:
    with httpx.Client(base_url=served.url, timeout=60) as fresh:
        return _count(metric_samples(fresh.get("/metrics").text))


@pytest.mark.e2e
def test_collector_frozen_once_the_champion_is_loaded(api: Api) -> None:
    """`serving.tail`: start-up and model objects sit in the permanent generation, so a full
    collection walks only what requests made (the in-thread test server shares this process)."""
    import gc

    assert api.server.app.state.holder.current is not None
    assert gc.get_freeze_count() > 100_000
