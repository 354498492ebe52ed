"""A champion trained through a mapping with extra inputs: the API says which it needs,
takes them checked against their kinds, and names the ones a request left out; batch
scoring warns when the data is not what the champion was trained on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from serving.batch_score import score_folder
from serving.schemas import ModelOut, ScoreOut
from tests.conftest import export_mapping, write_mapped_export
from tests.serving.conftest import (
    HEADERS,
    LENIENT,
    LiveServer,
    lead_payload,
    serving_settings,
    wait_for_version,
)

EXTRAS = {"segment": "categorical", "region": "categorical", "visits": "numeric"}


class Mapped:
    def __init__(self, server: LiveServer, export: Path, mapping: Path) -> None:
        self.server, self.export, self.mapping = server, export, mapping


@pytest.fixture(scope="module")
def mapped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mapped]:
    from models.mlflow_layout import TEAMS
    from training.promote import promote_version
    from training.signoff import record_signoff
    from training.train import run_training

    root = tmp_path_factory.mktemp("extras")
    export = write_mapped_export(root / "export")
    mapping = root / "export.toml"
    mapping.write_text(export_mapping(leak=False))
    settings = serving_settings(root / "home")
    version = run_training(export, mapping=mapping, settings=settings).version
    for team in TEAMS:
        record_signoff(version, team=team, by=f"{team}-lead", approve=True, settings=settings)
    promote_version(version, settings=settings, by="test", **LENIENT)
    server = LiveServer(settings).start()
    try:
        wait_for_version(server.url, version)
        yield Mapped(server, export, mapping)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(mapped: Mapped) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mapped.server.url, headers=HEADERS, timeout=60) as c:
        yield c


def _lead(lead_id: str, **extras: Any) -> dict[str, Any]:
    return {**lead_payload(lead_id), "extras": extras}


def test_model_endpoint_names_the_extra_inputs(client: httpx.Client) -> None:
    out = ModelOut.model_validate(client.get("/v1/model").json())
    assert {e.name: e.kind for e in out.extras} == EXTRAS
    assert {e.name: e.role for e in out.extras}["visits"] == "interest"
    assert out.source == "mapping:export"


def test_openapi_names_the_champions_extra_inputs(client: httpx.Client) -> None:
    extras = client.get("/openapi.json").json()["components"]["schemas"]["ScoreIn"]
    spec = extras["properties"]["extras"]
    assert {k: v["type"][0] for k, v in spec["properties"].items()} == {
        "segment": "string",
        "region": "string",
        "visits": "number",
    }
    assert spec["additionalProperties"] is False
    assert "takes: segment (categorical)" in spec["description"]


def test_score_with_every_extra_misses_nothing_and_uses_them(client: httpx.Client) -> None:
    big = client.post("/v1/score", json=_lead("x-1", segment="enterprise", region="east", visits=9))
    small = client.post("/v1/score", json=_lead("x-2", segment="smb", region="east", visits=0))
    assert big.status_code == small.status_code == 200, big.text
    assert ScoreOut.model_validate(big.json()).missing_inputs == []
    assert big.json()["combined"]["probability"] > small.json()["combined"]["probability"]


def test_score_without_an_extra_is_flagged_never_silent(client: httpx.Client) -> None:
    response = client.post("/v1/score", json=_lead("x-3", segment="mid"))
    assert response.status_code == 200, response.text
    assert response.json()["missing_inputs"] == ["region", "visits"]
    bare = client.post("/v1/score", json=lead_payload("x-4"))
    assert bare.json()["missing_inputs"] == ["segment", "region", "visits"]
    known_empty = client.post(
        "/v1/score", json=_lead("x-5", segment=None, region=None, visits=None)
    )
    assert known_empty.json()["missing_inputs"] == []


@pytest.mark.parametrize(
    ("extras", "fragment"),
    [
        ({"shoe_size": 42}, "unknown extra input 'shoe_size'"),
        ({"visits": "many"}, "'visits' is a numeric input"),
        ({"segment": 3}, "'segment' is a categorical input"),
    ],
)
def test_score_bad_extra_is_422_naming_it(
    client: httpx.Client, extras: dict[str, Any], fragment: str
) -> None:
    response = client.post("/v1/score", json=_lead("x-bad", **extras))
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    name = next(iter(extras))
    assert error["loc"] == ["body", "extras", name] and fragment in error["msg"]
    assert "many" not in response.text  # the value is never echoed


def test_batch_extras_checked_per_item(client: httpx.Client) -> None:
    items = [_lead("b-1", segment="mid", region="west", visits=2), _lead("b-2", shoe_size=1)]
    body = client.post("/v1/score/batch", json={"items": items}).json()
    assert (body["n_ok"], body["n_failed"]) == (1, 1)
    assert body["results"][0]["result"]["missing_inputs"] == []
    assert body["results"][1]["errors"][0]["loc"] == ["body", "items", 1, "extras", "shoe_size"]


def test_batch_score_warns_about_data_the_champion_was_not_trained_on(
    mapped: Mapped, tmp_path: Path
) -> None:
    settings = mapped.server.settings
    same = score_folder(
        mapped.export, out=tmp_path / "a.csv", mapping=mapped.mapping, settings=settings
    )
    assert "WARNING" not in same
    other = tmp_path / "other.toml"
    other.write_text(export_mapping(leak=False).split("[extras.visits]")[0])
    said = score_folder(mapped.export, out=tmp_path / "b.csv", mapping=other, settings=settings)
    lines = said.splitlines()
    assert lines[0].startswith("WARNING: champion version") and "mapping:export" in lines[0]
    assert "mapping:other" in lines[0]
    assert lines[1].startswith("WARNING: this data lacks the extra inputs") and "visits" in lines[1]
    assert any(line.startswith("scored ") for line in lines)
