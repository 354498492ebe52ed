"""`POST /v1/feedback` on a real server: retries recorded once, bad batches refused whole,
everything acknowledged still there after a restart and after `kill -9` of two workers."""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from serving.feedback import read_feedback
from tests.serving.conftest import HEADERS, Api, LiveServer, Registry
from tests.serving.test_score_log import _log_url, _serve, kill_9_during

pytestmark = pytest.mark.e2e

SECRET_LOOKING = "sk-live-do-not-echo-4242"


def item(event_id: str, lead_id: str = "L-1", **fields: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "lead_id": lead_id,
        "type": "touch",
        "occurred_at": "2026-01-05T09:00:00Z",
        "channel": "phone",
        **fields,
    }


def ids(n: int) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"ev-{run}-{i}" for i in range(n)]


@pytest.fixture
def database_url(registry: Registry, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'serving.sqlite'}"


@pytest.fixture
def server(registry: Registry, database_url: str) -> Iterator[LiveServer]:
    settings = registry.settings.model_copy(update={"database_url": database_url})
    live = LiveServer(settings).start()
    try:
        yield live
    finally:
        live.stop()


def _post(url: str, body: Any) -> httpx.Response:
    return httpx.post(f"{url}/v1/feedback", json=body, headers=HEADERS, timeout=30)


def test_feedback_retried_batch_is_not_counted_twice(server: LiveServer, database_url: str) -> None:
    a, b, c = ids(3)
    batch = {
        "items": [
            item(a),
            item(
                b, type="sales_rejected", channel=None, reject_reason="no_budget", meeting_rating=2
            ),
            item(c, type="closed_won", channel=None, amount=12_000.0),
        ]
    }
    first = _post(server.url, batch)
    assert first.status_code == 200, first.text
    assert (first.json()["n_recorded"], first.json()["n_duplicate"]) == (3, 0)
    again = _post(server.url, batch)
    assert again.status_code == 200
    body = again.json()
    assert (body["n_recorded"], body["n_duplicate"]) == (0, 3)
    assert [r["status"] for r in body["results"]] == ["duplicate"] * 3
    rows = read_feedback(database_url)
    assert sorted(rows["event_id"]) == sorted([a, b, c])
    rejected = rows.set_index("event_id").loc[b]
    assert (rejected["reject_reason"], rejected["meeting_rating"]) == ("no_budget", 2)


def test_feedback_single_item_and_reused_id_with_other_content(server: LiveServer) -> None:
    (a,) = ids(1)
    assert _post(server.url, item(a)).json()["results"][0]["status"] == "recorded"
    other = _post(server.url, item(a, channel="email"))
    assert other.status_code == 200
    assert other.json()["n_conflict"] == 1


def test_feedback_batch_with_bad_items_refused_whole_each_named(
    server: LiveServer, database_url: str
) -> None:
    good, bad_rating, no_reason, bad_channel = ids(4)
    batch = {
        "items": [
            item(good),
            item(bad_rating, type="meeting_set", channel=None, meeting_rating=7),
            item(no_reason, type="sales_rejected", channel=None),
            item(bad_channel, channel=SECRET_LOOKING),
        ]
    }
    answer = _post(server.url, batch)
    assert answer.status_code == 422
    locs = [tuple(d["loc"]) for d in answer.json()["detail"]]
    assert ("body", "items", 1, "meeting_rating") in locs
    assert any(loc[:3] == ("body", "items", 2) for loc in locs)
    assert "reject_reason" in " ".join(d["msg"] for d in answer.json()["detail"])
    assert ("body", "items", 3, "channel") in locs
    assert not any(loc[:3] == ("body", "items", 0) for loc in locs)
    assert SECRET_LOOKING not in answer.text
    assert good not in set(read_feedback(database_url)["event_id"])


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"event_id": "x"}, ("body", "lead_id")),
        ([1, 2], ("body",)),
        ({"items": "nope"}, ("body", "items")),
        ({"items": []}, ("body", "items")),
        ({"items": [item("d1"), item("d1")]}, ("body", "items", 1, "event_id")),
        (item("t1", occurred_at=1767600000), ("body", "occurred_at")),
        (item("t2", occurred_at="2026-01-05T09:00:00"), ("body", "occurred_at")),
        (item("t3", amount=5.0), ("body",)),
    ],
)
def test_feedback_bad_input_is_a_422_naming_the_field(
    server: LiveServer, body: Any, loc: tuple[Any, ...]
) -> None:
    answer = _post(server.url, body)
    assert answer.status_code == 422, answer.text
    assert loc in [tuple(d["loc"]) for d in answer.json()["detail"]]


def test_feedback_needs_an_api_key(server: LiveServer) -> None:
    answer = httpx.post(f"{server.url}/v1/feedback", json=item("k1"))
    assert answer.status_code == 401


def test_feedback_acknowledged_survives_a_restart(registry: Registry, database_url: str) -> None:
    events = ids(20)
    settings = registry.settings.model_copy(update={"database_url": database_url})
    first = LiveServer(settings).start()
    try:
        for e in events:
            assert _post(first.url, item(e)).json()["n_recorded"] == 1
    finally:
        first.stop()
    second = LiveServer(settings).start()
    try:
        body = _post(second.url, {"items": [item(e) for e in events]}).json()
    finally:
        second.stop()
    assert body["n_duplicate"] == 20
    assert sorted(read_feedback(database_url)["event_id"]) == sorted(events)


def _send(url: str, k: int, stop: threading.Event, acked: list[str], seen: list[str]) -> None:
    """Batches of 5, each posted twice (a webhook's retry), until stopped or killed."""
    with httpx.Client(base_url=url, headers=HEADERS, timeout=30) as client:
        i = 0
        while not stop.is_set():
            i += 1
            batch = {"items": [item(f"kill-{k}-{i}-{j}", f"L-{k}") for j in range(5)]}
            for _ in range(2):
                try:
                    r = client.post("/v1/feedback", json=batch)
                except httpx.TransportError:
                    return
                if r.status_code == 200:
                    statuses = r.json()["results"]
                    acked += [s["event_id"] for s in statuses]
                    seen += [s["event_id"] for s in statuses if s["status"] == "recorded"]


@pytest.mark.slow
def test_feedback_kill_9_of_two_workers_loses_nothing_acknowledged(
    api: Api, tmp_path: Path
) -> None:
    url_db = _log_url(api, tmp_path)
    proc, url = _serve(api, url_db, workers=2, stderr=subprocess.DEVNULL)
    acked: list[str] = []
    recorded: list[str] = []
    stop = threading.Event()
    clients = [
        threading.Thread(target=_send, args=(url, k, stop, acked, recorded), daemon=True)
        for k in range(4)
    ]
    kill_9_during(proc, clients, stop, lambda: len(acked) >= 300)
    assert len(acked) >= 300
    stored = list(read_feedback(url_db)["event_id"])
    assert len(stored) == len(set(stored))  # no event twice
    assert set(acked) <= set(stored)
    assert len(recorded) == len(set(recorded))  # each retry said "duplicate", never "recorded"
