"""`handoff monitor` against a real server's database and the champion's real run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from data_contracts.vocab import QUADRANTS
from handoff_cli import app
from models import mlflow_layout as layout
from tests.conftest import backend_env
from tests.serving.conftest import HEADERS, Api, LiveServer, lead_payload, wait_for_version

pytestmark = pytest.mark.e2e


@pytest.fixture
def live(api: Api, tmp_path: Path) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path / 'serving.sqlite'}"
    server = LiveServer(api.registry.settings.model_copy(update={"database_url": url})).start()
    try:
        wait_for_version(server.url, api.registry.v1)
        yield server
    finally:
        server.stop()


def test_monitor_summarises_served_leads_and_the_endpoint_returns_it(
    api: Api, live: LiveServer, tmp_path: Path
) -> None:
    with httpx.Client(base_url=live.url, headers=HEADERS, timeout=60) as client:
        assert client.get("/v1/monitor/summary").status_code == 404  # none computed yet
        items = [lead_payload(f"M-{i}", n_events=1 + i % 5) for i in range(40)]
        scored = client.post("/v1/score/batch", json={"items": items}).json()
        assert scored["n_ok"] == 40
        touches = [
            {
                "event_id": f"touch-M-{i}",
                "lead_id": f"M-{i}",
                "type": "touch",
                "occurred_at": r["result"]["as_of"],
                "channel": "phone",
            }
            for i, r in enumerate(scored["results"])
        ]
        assert client.post("/v1/feedback", json={"items": touches}).status_code == 200
    assert live.app.state.feature_counts.flush()  # as its timer or shutdown would

    env = {**backend_env(live.settings), "HANDOFF_API_KEY_HASHES": "", "HANDOFF_DEV_MODE": "true"}
    page, summary_file = tmp_path / "monitor.html", tmp_path / "summary.json"
    result = CliRunner().invoke(
        app, ["monitor", "--out", str(page), "--json", str(summary_file)], env=env
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(summary_file.read_text())
    (version,) = summary["versions"]
    assert version["version"] == api.registry.v1 and version["leads"] == 40

    import mlflow

    client_ml = mlflow.MlflowClient()
    run_id = client_ml.get_model_version(api.registry.settings.model_name, api.registry.v1).run_id
    metrics = client_ml.get_run(run_id).data.metrics
    for row in version["outcomes"]["quadrants"]:
        name = layout.quadrant_metric(row["quadrant"], "win_rate")
        if name in metrics:
            assert row["promised"] == pytest.approx(metrics[name])
        assert row["censored"] == row["served"]  # nothing has closed: all open, none lost
    speed = {r["quadrant"]: r for r in version["speed_to_lead"]["quadrants"]}
    assert set(speed) <= set(QUADRANTS) and all(r["untouched"] == 0 for r in speed.values())
    assert version["drift"]["worst"] is not None  # measured against the run's test scores
    features = version["feature_drift"]  # against the run's feature profile
    assert features["measured"], features
    assert {r["feature"] for r in features["overall"]} >= {"log_employees", "n_touches_30d"}
    assert features["weeks"] == []  # 40 leads: too few for a week's PSI

    html = page.read_text()
    assert "<img" in html and 'src="http' not in html and "<script" not in html
    assert "Calibration: predicted vs realised, per score band" in html
    served = httpx.get(f"{live.url}/v1/monitor/summary", headers=HEADERS)
    assert served.status_code == 200
    assert served.json()["computed_at"] == summary["computed_at"]
    assert served.json()["versions"][0]["feature_drift"] == features
    assert "Drift of served features" in html
