"""Following the alias: promote and roll back under load, with no failed or mixed answers."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from tests.serving.conftest import HEADERS, LENIENT, Api, lead_payload, wait_for_version

pytestmark = pytest.mark.e2e


def _hammer(url: str, stop: threading.Event, sink: list[tuple[str, int, Any]]) -> None:
    with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as client:
        i = 0
        while not stop.is_set():
            i += 1
            if i % 3:
                r = client.post("/v1/score", json=lead_payload(f"S-{i}"))
                body = r.json()
                sink.append(("one", r.status_code, body.get("model_version")))
            else:
                items = [lead_payload(f"S-{i}-{k}") for k in range(20)]
                r = client.post("/v1/score/batch", json={"items": items})
                body = r.json()
                versions = {
                    x["result"]["model_version"] for x in body.get("results", []) if x["ok"]
                }
                sink.append(("batch", r.status_code, (body.get("model_version"), versions)))


@pytest.mark.parametrize("server", ["api", "served"])
def test_swap_after_promote_and_rollback_under_concurrent_requests(
    server: str, api: Api, request: pytest.FixtureRequest
) -> None:
    """In one process, and across `handoff serve`'s worker processes (each swaps on its own;
    `/readyz` reports the new version once every worker has it)."""
    from training.promote import promote_version, rollback_champion

    url = request.getfixturevalue(server).url
    reg = api.registry
    seen: list[tuple[str, int, Any]] = []
    stop = threading.Event()
    workers = [
        threading.Thread(target=_hammer, args=(url, stop, seen), daemon=True) for _ in range(3)
    ]
    for w in workers:
        w.start()
    try:
        time.sleep(0.5)
        promote_version(reg.v2, settings=reg.settings, by="test", **LENIENT)
        wait_for_version(url, reg.v2)
        time.sleep(0.5)
        rollback_champion(settings=reg.settings, by="test")
        wait_for_version(url, reg.v1)
        time.sleep(0.5)
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=60)

    assert len(seen) > 10
    assert all(status == 200 for _, status, _ in seen), {s for _, s, _ in seen}
    allowed = {reg.v1, reg.v2}
    singles = [v for kind, _, v in seen if kind == "one"]
    assert set(singles) <= allowed
    assert reg.v2 in singles  # the new version really served
    for kind, _, value in seen:
        if kind == "batch":
            top, per_item = value
            assert top in allowed and per_item == {top}  # never mixed within a batch
