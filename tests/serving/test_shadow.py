"""The challenger in the shadow: scored after the answer, logged beside it, never able to
change or fail an answer, compared with the champion by the monitor."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.mlflow_layout import CHALLENGER
from serving.monitor.run import run_monitor
from serving.score_log import read_rows
from serving.shadow import read_shadow_rows
from tests.serving.conftest import HEADERS, Api, LiveServer, lead_payload, wait_for_version

pytestmark = pytest.mark.e2e

SAME_IN_BOTH = ("lead_id", "model_version", "fit", "interest", "combined", "quadrant", "action")


@pytest.fixture
def challenger(api: Api) -> Iterator[str]:
    """Version 2 (the same files as the champion, signed off) as the challenger."""
    import mlflow

    client = mlflow.MlflowClient()
    name = api.registry.settings.model_name
    client.set_registered_model_alias(name, CHALLENGER, api.registry.v2)
    try:
        yield api.registry.v2
    finally:
        client.delete_registered_model_alias(name, CHALLENGER)


@pytest.fixture
def live(api: Api, challenger: str, tmp_path: Path) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path / 'serving.sqlite'}"
    server = LiveServer(api.registry.settings.model_copy(update={"database_url": url})).start()
    try:
        wait_for_version(server.url, api.registry.v1)
        deadline = time.monotonic() + 60
        while server.app.state.shadow.current is None:
            assert time.monotonic() < deadline, "the challenger never loaded"
            time.sleep(0.05)
        yield server
    finally:
        server.stop()


def _shadow_rows(url: str, n: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while len(rows := read_shadow_rows(url)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return rows


NOW = datetime.now(UTC) - timedelta(minutes=5)


def payload(lead_id: str) -> dict[str, Any]:
    """The same request every time it is asked for (fixed events and as_of)."""
    return {**lead_payload(lead_id, now=NOW), "as_of": NOW.isoformat()}


def _answers(url: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as client:
        single = [client.post("/v1/score", json=payload(f"S-{i}")).json() for i in range(4)]
        batch = client.post(
            "/v1/score/batch", json={"items": [payload(f"B-{i}") for i in range(3)]}
        ).json()
    return single + [r["result"] for r in batch["results"]]


def test_shadow_challenger_is_logged_and_never_changes_an_answer(
    api: Api, live: LiveServer, client: httpx.Client, challenger: str
) -> None:
    answers = _answers(live.url)
    url = live.settings.resolved_database_url
    shadow = _shadow_rows(url, len(answers))
    assert len(shadow) == len(answers)
    assert {r["model_version"] for r in shadow} == {challenger}
    logged = {(r["request_id"], r["lead_id"]) for r in read_rows(url)}
    assert {(r["request_id"], r["lead_id"]) for r in shadow} == logged
    # The same leads on a server whose answers the challenger never touched.
    for answer in answers:
        plain = client.post("/v1/score", json=payload(answer["lead_id"])).json()
        assert answer["model_version"] == api.registry.v1
        assert {k: plain[k] for k in SAME_IN_BOTH} == {k: answer[k] for k in SAME_IN_BOTH}

    summary = run_monitor(live.settings)
    (pair,) = summary["challengers"]
    assert (pair["champion"], pair["challenger"]) == (api.registry.v1, challenger)
    assert pair["leads"] == len({a["lead_id"] for a in answers})
    assert pair["agreement"] == 1.0  # the same files: the same quadrants


def test_shadow_challenger_that_raises_fails_no_request(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    shadow = live.app.state.shadow

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("challenger exploded")

    monkeypatch.setattr(shadow.current.model, "score_columns", broken)
    answers = _answers(live.url)
    assert all("quadrant" in a for a in answers)
    deadline = time.monotonic() + 30
    while shadow.failures < 5 and time.monotonic() < deadline:  # 4 single + 1 batch
        time.sleep(0.05)
    assert shadow.failures == 5
    assert read_shadow_rows(live.settings.resolved_database_url) == []


def test_monitor_writes_the_live_comparison_the_challengers_report_shows(
    api: Api, live: LiveServer, challenger: str, tmp_path: Path
) -> None:
    """Serving writes it to the challenger's version, training's report reads it: through a
    real registry, with neither side importing the other."""
    import json

    import mlflow
    from mlflow.artifacts import download_artifacts

    from models.mlflow_layout import LIVE_COMPARISON_TAG, live_comparison_file
    from tests.training.test_report import ReportParser
    from training.report import write_report

    answers = _answers(live.url)
    _shadow_rows(live.settings.resolved_database_url, len(answers))
    summary = run_monitor(live.settings)
    assert summary["live_comparisons"] == [f"live comparison written to version {challenger}'s run"]
    client = mlflow.MlflowClient()
    name = api.registry.settings.model_name
    mv = client.get_model_version(name, challenger)
    assert mv.tags[LIVE_COMPARISON_TAG] == summary["computed_at"]
    path = download_artifacts(
        run_id=mv.run_id, artifact_path=live_comparison_file(challenger), dst_path=str(tmp_path)
    )
    written = json.loads(Path(path).read_text())
    (pair,) = summary["challengers"]
    assert {k: written[k] for k in pair} == pair and written["computed_at"] == summary[
        "computed_at"
    ]

    page = write_report(challenger, out=tmp_path / "challenger.html", settings=live.settings)
    parsed = ReportParser()
    parsed.feed(page.read_text(encoding="utf-8"))
    assert parsed.keys["live_champion"] == [api.registry.v1]
    assert parsed.keys["live_leads"] == [str(pair["leads"])]
    assert parsed.keys["live_agreement"] == ["100.0%"]
    # Only the challenger's file: the champion, registered from the same run, has none.
    listed = [a.path for a in client.list_artifacts(mv.run_id, "live")]
    assert listed == [live_comparison_file(challenger)]
