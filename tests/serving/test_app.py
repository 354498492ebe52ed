"""The scoring API end to end: answers, batches, auth, readiness, input errors, logs, metrics."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from data_contracts import CONTRACT_VERSION
from data_contracts.vocab import QUADRANTS, REASON_TEXT_MAX
from models.mlflow_setup import configure_mlflow
from models.policy import QuadrantPolicy
from models.pyfunc import as_feature_sets
from serving.champion import NO_CHAMPION
from serving.http_limits import MAX_HEAD_BYTES, MAX_HEADER_FIELDS
from serving.schemas import BatchScoreOut, ModelOut, ScoreOut
from serving.security import DEV_API_KEY
from tests.serving.conftest import (
    API_KEY,
    HEADERS,
    SERVED_MAX_BODY_BYTES,
    Api,
    Registry,
    Served,
    lead_payload,
)

pytestmark = pytest.mark.e2e

PAYLOAD_MARKER = "Zebulon-Quartzfeather-Industries"
QUERY_MARKER = "Quillfeather-Query-Value-93"


def _locs(response: httpx.Response) -> list[list[Any]]:
    return [d["loc"] for d in response.json()["detail"]]


def test_readiness_before_promotion_is_503_with_reason(api: Api) -> None:
    before = api.before_promotion
    assert before["readyz_status"] == 503
    assert before["readyz"]["ready"] is False
    assert before["score_status"] == 503
    assert before["score"]["detail"] == NO_CHAMPION


def test_readiness_after_promotion_reports_version(api: Api) -> None:
    response = httpx.get(f"{api.url}/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "model_version": api.registry.v1, "reason": None}
    assert httpx.get(f"{api.url}/healthz").json() == {"status": "ok"}


def test_score_one_lead_returns_full_answer(client: httpx.Client, api: Api) -> None:
    response = client.post("/v1/score", json=lead_payload("L-full", n_events=20))
    assert response.status_code == 200, response.text
    out = ScoreOut.model_validate(response.json())
    assert out.lead_id == "L-full"
    assert out.model_version == api.registry.v1
    assert out.request_id == response.headers["x-request-id"]
    assert [fs.label for fs in out.feature_sets] == trained_labels(api.registry, api.registry.v1)
    assert out.contract_version == CONTRACT_VERSION == out.api_contract_version
    assert out.fit.score == round(100 * out.fit.probability)
    assert out.combined.score == round(100 * out.combined.probability)
    assert out.fit.reasons and out.interest.reasons
    for part in (out.fit, out.interest):
        ups = [r.text for r in part.reasons if r.direction == "up"]
        assert part.reason_text.startswith(ups[0] if ups else "Against: ")
    assert 0 < len(out.combined.reason_text) <= REASON_TEXT_MAX
    action = champion_policy(api.registry).actions[out.quadrant]
    assert (out.action, out.tier, out.speed_to_lead_minutes) == (
        action.action,
        action.tier,
        action.speed_to_lead_minutes,
    )


def run_artifact(registry: Registry, version: str, path: str) -> Any:
    """A JSON artifact of the run behind `version`, read through MLflow."""
    import mlflow
    from mlflow.artifacts import load_dict

    configure_mlflow(registry.settings)
    mv = mlflow.MlflowClient().get_model_version(registry.settings.model_name, version)
    return load_dict(f"runs:/{mv.run_id}/{path}")


def trained_labels(registry: Registry, version: str) -> list[str]:
    """The feature-set labels the version's run logged (`feature_sets.json`)."""
    return [
        fs.label for fs in as_feature_sets(run_artifact(registry, version, "feature_sets.json"))
    ]


def champion_policy(registry: Registry) -> QuadrantPolicy:
    return QuadrantPolicy.model_validate(run_artifact(registry, registry.v1, "policy.json"))


def test_score_unseen_industry_is_scored_and_flagged(client: httpx.Client) -> None:
    response = client.post("/v1/score", json=lead_payload("L-new", industry=PAYLOAD_MARKER))
    assert response.status_code == 200, response.text
    assert any(flag.startswith("industry=") for flag in response.json()["unseen_categories"])


def test_score_integer_revenue_is_accepted_as_a_number(client: httpx.Client) -> None:
    payload = lead_payload("L-int-revenue")
    payload["lead"]["annual_revenue"] = 12_000_000
    response = client.post("/v1/score", json=payload)
    assert response.status_code == 200, response.text
    assert response.json()["lead_id"] == "L-int-revenue"


def test_score_as_of_in_the_past_ignores_later_events(client: httpx.Client) -> None:
    payload = lead_payload("L-past", n_events=5)
    payload["as_of"] = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    response = client.post("/v1/score", json=payload)
    assert response.status_code == 422
    assert ["body", "events", 4, "occurred_at"] in _locs(response)


def test_batch_scores_in_order_and_reports_bad_item_by_index(client: httpx.Client) -> None:
    items: list[Any] = [lead_payload(f"B-{i}") for i in range(5)]
    items[2]["lead"]["seniority"] = "emperor"
    items[3] = "not an object"
    response = client.post("/v1/score/batch", json={"items": items})
    assert response.status_code == 200, response.text
    out = BatchScoreOut.model_validate(response.json())
    assert (out.n_ok, out.n_failed) == (3, 2)
    assert [r.index for r in out.results] == [0, 1, 2, 3, 4]
    assert [r.ok for r in out.results] == [True, True, False, False, True]
    assert [r.result.lead_id for r in out.results if r.result] == ["B-0", "B-1", "B-4"]
    assert all(r.result.combined.reason_text for r in out.results if r.result)
    bad = out.results[2].errors
    assert bad and bad[0].loc == ["body", "items", 2, "lead", "seniority"]
    assert {r.result.model_version for r in out.results if r.result} == {out.model_version}


def test_batch_duplicate_lead_is_an_item_error(client: httpx.Client) -> None:
    response = client.post(
        "/v1/score/batch", json={"items": [lead_payload("D"), lead_payload("D")]}
    )
    results = response.json()["results"]
    assert results[0]["ok"] and not results[1]["ok"]
    assert "duplicate" in results[1]["errors"][0]["msg"]


def test_batch_empty_is_422(client: httpx.Client) -> None:
    response = client.post("/v1/score/batch", json={"items": []})
    assert response.status_code == 422
    assert ["body", "items"] in _locs(response)


def test_batch_answers_match_single_answers_with_or_without_a_bad_item(
    client: httpx.Client,
) -> None:
    """The same leads score identically alone in a batch, beside a bad item, and one by one
    on the single-lead endpoint."""
    items: list[Any] = [lead_payload(f"F-{i}", n_events=3) for i in range(4)]
    as_of = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    for item in items:
        item["as_of"] = as_of
    fast = client.post("/v1/score/batch", json={"items": items}).json()
    slow = client.post("/v1/score/batch", json={"items": [*items, {"lead": 5}]}).json()
    single = client.post("/v1/score", json=items[1]).json()
    assert (fast["n_ok"], fast["n_failed"], slow["n_ok"], slow["n_failed"]) == (4, 0, 4, 1)
    assert slow["results"][4]["errors"][0]["loc"][:4] == ["body", "items", 4, "lead"]

    def comparable(answer: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in answer.items() if k != "request_id"}

    for a, b in zip(fast["results"], slow["results"][:4], strict=True):
        assert comparable(a["result"]) == comparable(b["result"])
    assert comparable(fast["results"][1]["result"]) == comparable(single)


def test_batch_body_errors_name_the_body_and_nan_names_its_item(client: httpx.Client) -> None:
    headers = {"Content-Type": "application/json"}
    broken = client.post("/v1/score/batch", content=b'{"items": [', headers=headers)
    assert broken.status_code == 422 and all(loc[0] == "body" for loc in _locs(broken))
    missing = client.post("/v1/score/batch", json={"leads": []})
    assert missing.status_code == 422 and ["body", "items"] in _locs(missing)
    good = json.dumps(lead_payload("N-0"))
    nan = json.dumps(lead_payload("N-1")).replace('"employees": 250', '"annual_revenue": NaN')
    response = client.post(
        "/v1/score/batch", content=f'{{"items": [{good}, {nan}]}}', headers=headers
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results[0]["ok"] and not results[1]["ok"]
    assert results[1]["errors"][0]["loc"] == ["body", "items", 1, "lead", "annual_revenue"]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/score", {}),
        ("/v1/score", {"X-API-Key": "wrong"}),
        ("/v1/score/batch", {"X-API-Key": ""}),
    ],
)
def test_auth_without_valid_key_is_401(api: Api, path: str, headers: dict[str, str]) -> None:
    body = {"items": [lead_payload()]} if path.endswith("batch") else lead_payload()
    response = httpx.post(f"{api.url}{path}", json=body, headers=headers)
    assert response.status_code == 401
    assert httpx.get(f"{api.url}/v1/model", headers=headers).status_code == 401


def test_model_endpoint_describes_champion(client: httpx.Client, api: Api) -> None:
    out = ModelOut.model_validate(client.get("/v1/model").json())
    assert out.version == api.registry.v1
    assert out.signoffs["marketing"].decision == "approved"
    assert out.signoffs["bdr"].by == "bdr-lead" and out.signoffs["bdr"].binding_matches
    assert "fit_threshold" in out.policy and set(out.policy["actions"]) == set(QUADRANTS)
    assert "windows" in out.training_window
    assert "test_combined_roc_auc" in out.metrics


def _mutate(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    payload: Any = lead_payload("L-bad")
    target = payload
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return payload


@pytest.mark.parametrize(
    ("path", "value", "loc"),
    [
        (("lead", "employees"), "many", ["body", "lead", "employees"]),
        (("lead", "employees"), True, ["body", "lead", "employees"]),
        (("lead", "annual_revenue"), True, ["body", "lead", "annual_revenue"]),
        (("lead", "annual_revenue"), False, ["body", "lead", "annual_revenue"]),
        (("lead", "annual_revenue"), "123", ["body", "lead", "annual_revenue"]),
        (("lead", "lead_id"), KeyError, ["body", "lead", "lead_id"]),
        (("lead", "created_at"), "yesterday-ish", ["body", "lead", "created_at"]),
        (("lead", "created_at"), "2026-01-01T00:00:00", ["body", "lead", "created_at"]),
        (("lead", "created_at"), 1_700_000_000, ["body", "lead", "created_at"]),
        (("lead", "created_at"), "3024-01-01T00:00:00Z", ["body", "lead", "created_at"]),
        (("events", 0, "occurred_at"), 1_700_000_000, ["body", "events", 0, "occurred_at"]),
        (("events", 0, "occurred_at"), "2026-01-01", ["body", "events", 0, "occurred_at"]),
        (("events", 0, "channel"), "pigeon", ["body", "events", 0, "channel"]),
        (("events", 0, "surprise"), 1, ["body", "events", 0, "surprise"]),
        (("lead", "is_named_account"), "yes", ["body", "lead", "is_named_account"]),
        (("lead", "source"), "carrier_pigeon", ["body", "lead", "source"]),
        (("lead", "surprise"), 1, ["body", "lead", "surprise"]),
        (("events", 0, "type"), "telepathy", ["body", "events", 0, "type"]),
        (
            ("events", 1, "occurred_at"),
            (datetime.now(UTC) + timedelta(days=2)).isoformat(),
            ["body", "events", 1, "occurred_at"],
        ),
        (
            ("lead", "created_at"),
            (datetime.now(UTC) + timedelta(days=2)).isoformat(),
            ["body", "lead", "created_at"],
        ),
        (("as_of",), (datetime.now(UTC) + timedelta(days=2)).isoformat(), ["body", "as_of"]),
    ],
)
def test_input_errors_are_422_naming_the_field(
    client: httpx.Client, path: tuple[Any, ...], value: Any, loc: list[Any]
) -> None:
    response = client.post("/v1/score", json=_mutate(path, value))
    assert response.status_code == 422, response.text
    assert loc in _locs(response)
    assert all(d["msg"] for d in response.json()["detail"])


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_422(client: httpx.Client, token: str) -> None:
    text = json.dumps(lead_payload()).replace('"employees": 250', f'"annual_revenue": {token}')
    response = client.post("/v1/score", content=text, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert ["body", "lead", "annual_revenue"] in _locs(response)


def test_malformed_json_and_too_many_events_are_4xx(client: httpx.Client, api: Api) -> None:
    bad = client.post(
        "/v1/score", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 422
    many = lead_payload("L-many", n_events=api.registry.settings.max_events_per_lead + 1)
    response = client.post("/v1/score", json=many)
    assert response.status_code == 422 and ["body", "events"] in _locs(response)


def test_oversized_body_is_413_declared_or_streamed(client: httpx.Client, api: Api) -> None:
    limit = api.registry.settings.max_body_bytes
    declared = client.post("/v1/score", content=b" " * (limit + 1))
    assert declared.status_code == 413

    def chunks() -> Any:  # no Content-Length: chunked transfer encoding
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    streamed = client.post("/v1/score", content=chunks())
    assert streamed.status_code == 413
    assert "too large" in streamed.json()["detail"]


def test_unexpected_error_is_500_with_request_id_and_no_payload_in_log(
    client: httpx.Client, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion = api.server.app.state.holder.current

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"cannot handle {PAYLOAD_MARKER}")

    monkeypatch.setattr(champion.model, "score_columns", explode)
    response = client.post("/v1/score", json=lead_payload("L-boom", industry=PAYLOAD_MARKER))
    assert response.status_code == 500
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["request_id"] in body["detail"]
    assert any(
        "ValueError" in r.getMessage() and body["request_id"] in r.getMessage()
        for r in api.log_records
    )


def test_logs_never_contain_keys_or_payloads(client: httpx.Client, api: Api) -> None:
    client.post("/v1/score", json=lead_payload("L-log", industry=PAYLOAD_MARKER))
    client.post("/v1/score", json=_mutate(("lead", "industry"), 12345))
    httpx.post(f"{api.url}/v1/score", json=lead_payload(), headers={"X-API-Key": "bad-" + API_KEY})
    text = "\n".join(logging.Formatter("%(name)s %(message)s").format(r) for r in api.log_records)
    assert "POST /v1/score" in text  # the access log is on, and is all we see of requests
    assert API_KEY not in text
    assert PAYLOAD_MARKER not in text
    assert "example-corp" not in text


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text parsed by prometheus_client's own parser: (name, labels) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_are_prometheus_text(api: Api, client: httpx.Client) -> None:
    client.post("/v1/score", json=lead_payload("L-metrics"))
    response = httpx.get(f"{api.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = metric_samples(response.text)
    requests = (
        "handoff_http_requests_total",
        (("method", "POST"), ("path", "/v1/score"), ("status", "200")),
    )
    assert samples[requests] >= 1
    assert (
        samples[
            (
                "handoff_http_request_duration_seconds_bucket",
                (("le", "+Inf"), ("path", "/v1/score")),
            )
        ]
        >= samples[requests]
    )
    assert samples[("handoff_model_info", (("version", api.registry.v1),))] == 1
    assert samples[("handoff_model_loaded", ())] == 1
    assert ("handoff_http_errors_total", (("kind", "client"),)) in samples
    assert samples[("handoff_score_log_rows_written_total", ())] >= 1
    quadrants = [v for (name, _), v in samples.items() if name == "handoff_scores_total"]
    assert len(quadrants) == len(QUADRANTS) and sum(quadrants) >= 1


def test_metrics_labels_stay_closed_for_unknown_paths_and_methods(api: Api) -> None:
    for _ in range(3):
        httpx.request("PROPFIND", f"{api.url}/no/such/{time.monotonic()}")
    samples = metric_samples(httpx.get(f"{api.url}/metrics").text)
    paths = {
        dict(labels).get("path") for name, labels in samples if name.startswith("handoff_http")
    }
    methods = {dict(labels).get("method") for name, labels in samples if "method" in dict(labels)}
    assert paths - {None} <= {
        "/v1/score",
        "/v1/score/batch",
        "/v1/model",
        "/healthz",
        "/readyz",
        "/metrics",
        "other",
    }
    assert "PROPFIND" not in methods and "other" in methods


def _log_lines(served: Served, needle: str, count: int) -> list[str]:
    """The served process's log lines holding `needle`, once `count` of them are written."""
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in served.log_text().splitlines() if needle in line]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_served_logs_hold_no_key_query_or_payload_any_status(served: Served) -> None:
    """`handoff serve`'s own log config: paths without the query, over 200, 401, 413, 422
    and a refused head; no key (in a header or the query), query value or payload value."""
    target = f"/v1/score?api_key={API_KEY}&note={QUERY_MARKER}"
    too_large = PAYLOAD_MARKER.encode() * (SERVED_MAX_BODY_BYTES // len(PAYLOAD_MARKER) + 1)
    with httpx.Client(base_url=served.url, timeout=60) as c:
        statuses = [
            c.post(target, json=lead_payload("L-q", industry=PAYLOAD_MARKER), headers=HEADERS),
            c.post(target, json=lead_payload("L-q", industry=PAYLOAD_MARKER)),
            c.post(target, content=too_large, headers=HEADERS),
            c.post(
                target, json=_mutate(("lead", "industry"), {"x": PAYLOAD_MARKER}), headers=HEADERS
            ),
            c.get(target, headers={"X-API-Key": API_KEY + "x" * MAX_HEAD_BYTES}),
        ]
    assert [r.status_code for r in statuses] == [200, 401, 413, 422, 431]
    access = _log_lines(served, '"POST /v1/score HTTP/1.1"', 4)
    for status in (200, 401, 413, 422):
        assert any(f'"POST /v1/score HTTP/1.1" {status} ' in line for line in access), access
    assert _log_lines(served, "Refused a request", 1)
    text = served.log_text()
    assert "api_key=" not in text and QUERY_MARKER not in text
    assert API_KEY not in text
    assert PAYLOAD_MARKER not in text and "example-corp" not in text


def test_dev_mode_start_up_names_the_public_dev_key_once(served: Served, api: Api) -> None:
    lines = _log_lines(served, DEV_API_KEY, 1)
    assert len(lines) == 1
    assert lines[0].startswith("WARNING") and "DEV MODE" in lines[0]
    assert "public" in lines[0] and "local development only" in lines[0]
    assert (
        httpx.get(f"{served.url}/v1/model", headers={"X-API-Key": DEV_API_KEY}).status_code == 200
    )
    # Outside dev mode the key is neither accepted nor named.
    assert httpx.get(f"{api.url}/v1/model", headers={"X-API-Key": DEV_API_KEY}).status_code == 401
    assert all(DEV_API_KEY not in r.getMessage() for r in api.log_records)


def test_readme_serving_section_states_the_dev_key_and_head_limits() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    serving = readme.split("## Serving", 1)[1].split("\n## ", 1)[0]
    assert f"`{DEV_API_KEY}`" in serving and "HANDOFF_DEV_MODE=true" in serving
    assert f"{MAX_HEAD_BYTES // 1024} KiB, {MAX_HEADER_FIELDS} header fields" in serving


def test_openapi_request_examples_are_valid_requests(client: httpx.Client) -> None:
    """The examples `/docs` offers for copying score as they stand."""
    spec = client.get("/openapi.json").json()
    for path in ("/v1/score", "/v1/score/batch"):
        body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert body["examples"], path
        for example in body["examples"].values():
            response = client.post(path, json=example["value"])
            assert response.status_code == 200, (path, response.text)
            answer = response.json()
            if path.endswith("batch"):
                assert answer["n_failed"] == 0 and answer["n_ok"] == len(example["value"]["items"])
            else:
                assert answer["lead_id"] == example["value"]["lead"]["lead_id"]
