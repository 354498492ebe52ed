"""Request models: the Lead contract field by field, strict numbers, and the timestamp range
the spec states is the one enforced.

`LeadIn` reads its bounds from the contract; the contract tests fail when a field is added,
dropped, retyped, made optional or re-bounded in one and not the other.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pandas as pd
import pytest
from pydantic import TypeAdapter, ValidationError

from data_contracts.schemas import EngagementEvent, Lead, field_limits, vocabulary
from serving.schemas import EARLIEST, LATEST, EventIn, LeadIn, ScoreIn, Timestamp
from tests.serving.conftest import Api, lead_payload

JSON_LIMITS = {
    "ge": "minimum",
    "le": "maximum",
    "min_length": "minLength",
    "max_length": "maxLength",
}
CONTRACT = Lead.to_schema().columns


def _json_type(dtype: Any) -> str:
    if isinstance(dtype.type, pd.DatetimeTZDtype) or "datetime" in str(dtype):
        return "string"  # an ISO-8601 timestamp on the wire
    if pd.api.types.is_bool_dtype(dtype.type):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype.type):
        return "integer"
    if pd.api.types.is_float_dtype(dtype.type):
        return "number"
    return "string"


def _property(name: str) -> tuple[dict[str, Any], bool]:
    """The JSON schema of one LeadIn field (unwrapped from `anyOf [.., null]`) and whether
    it accepts null."""
    prop = LeadIn.model_json_schema()["properties"][name]
    options = prop.get("anyOf", [prop])
    nullable = any(o.get("type") == "null" for o in options)
    (value,) = [o for o in options if o.get("type") != "null"]
    return value, nullable


def test_lead_in_has_exactly_the_contract_fields() -> None:
    assert set(LeadIn.model_fields) == set(CONTRACT)


@pytest.mark.parametrize("name", list(CONTRACT))
def test_lead_in_field_matches_contract(name: str) -> None:
    column = CONTRACT[name]
    value, nullable = _property(name)
    assert nullable == column.nullable, "nullability"
    assert (name in LeadIn.model_json_schema().get("required", [])) == (not column.nullable)
    assert value.get("type", "string") == _json_type(column.dtype), "type"
    for key, json_key in JSON_LIMITS.items():
        assert value.get(json_key) == field_limits(Lead, name).get(key), key
    allowed = vocabulary(Lead, name)
    assert (tuple(value["enum"]) if "enum" in value else None) == allowed, "vocabulary"


EVENT_CONTRACT = EngagementEvent.to_schema().columns


@pytest.mark.parametrize("name", [c for c in EVENT_CONTRACT if c != "lead_id"])
def test_event_in_field_matches_contract(name: str) -> None:
    """Events ride inside their lead, so `lead_id` is the one contract field they omit."""
    schema = TypeAdapter(EventIn).json_schema()
    assert set(schema["properties"]) == set(EVENT_CONTRACT) - {"lead_id"}
    prop = schema["properties"][name]
    options = prop.get("anyOf", [prop])
    value = next(o for o in options if o.get("type") != "null")
    nullable = any(o.get("type") == "null" for o in options)
    assert nullable == EVENT_CONTRACT[name].nullable
    assert (name in schema.get("required", [])) == (not EVENT_CONTRACT[name].nullable)
    for key, json_key in JSON_LIMITS.items():
        assert value.get(json_key) == field_limits(EngagementEvent, name).get(key), key
    allowed = vocabulary(EngagementEvent, name)
    assert (tuple(value["enum"]) if "enum" in value else None) == allowed


REQUEST_MODELS = ("ScoreIn", "LeadIn", "EventIn", "BatchScoreIn")
# Where a field of each request model sits in a valid `ScoreIn` payload.
PAYLOAD_PATH: dict[str, tuple[str | int, ...]] = {
    "ScoreIn": (),
    "LeadIn": ("lead",),
    "EventIn": ("events", 0),
}


@pytest.fixture(scope="module")
def spec(api: Api) -> dict[str, Any]:
    return httpx.get(f"{api.url}/openapi.json").json()


def _types(prop: dict[str, Any]) -> set[str]:
    options = prop.get("anyOf", [prop])
    return {o["type"] for o in options if "type" in o}


def _numeric_fields(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(model, field, JSON type) for every number or integer property of a request model."""
    found = []
    for model in REQUEST_MODELS:
        for name, prop in spec["components"]["schemas"][model]["properties"].items():
            kinds = _types(prop) & {"integer", "number"}
            found.extend((model, name, kind) for kind in kinds)
    return found


def _with(path: tuple[str | int, ...], field: str, value: Any) -> dict[str, Any]:
    payload: Any = lead_payload("L-strict")
    target = payload
    for key in path:
        target = target[key]
    target[field] = value
    return payload


def test_numeric_fields_refuse_bools_and_strings_every_field(spec: dict[str, Any]) -> None:
    fields = _numeric_fields(spec)
    assert {(m, f) for m, f, _ in fields} >= {("LeadIn", "employees"), ("LeadIn", "annual_revenue")}
    for model, field, _ in fields:
        path = PAYLOAD_PATH[model]
        for bad in (True, False, "123", "12.5"):
            with pytest.raises(ValidationError) as caught:
                ScoreIn.model_validate(_with(path, field, bad))
            assert [e["loc"] for e in caught.value.errors()] == [(*path, field)], (field, bad)


def test_numeric_fields_take_ints_where_a_float_is_expected(spec: dict[str, Any]) -> None:
    floats = [(m, f) for m, f, kind in _numeric_fields(spec) if kind == "number"]
    assert ("LeadIn", "annual_revenue") in floats
    for model, field in floats:
        parsed = ScoreIn.model_validate(_with(PAYLOAD_PATH[model], field, 5_000_000))
        value = getattr(parsed.lead, field) if model == "LeadIn" else getattr(parsed, field)
        assert value == 5_000_000.0 and isinstance(value, float)


def test_openapi_states_the_timestamp_range_every_timestamp(spec: dict[str, Any]) -> None:
    stated = 0
    for model in REQUEST_MODELS:
        for name, prop in spec["components"]["schemas"][model]["properties"].items():
            for option in prop.get("anyOf", [prop]):
                if option.get("format") == "date-time":
                    text = option.get("description", "")
                    assert f"{EARLIEST:%Y-%m-%d}" in text and f"{LATEST:%Y-%m-%d}" in text, name
                    stated += 1
    assert stated >= 4  # created_at, occurred_at, ScoreIn.as_of, BatchScoreIn.as_of


def test_timestamp_range_enforced_is_the_range_stated_bounds() -> None:
    adapter = TypeAdapter(Timestamp)
    tick = timedelta(microseconds=1)
    assert adapter.validate_python(EARLIEST.isoformat()) == EARLIEST
    assert adapter.validate_python((LATEST - tick).isoformat()) == LATEST - tick
    for outside in (EARLIEST - tick, LATEST):
        with pytest.raises(ValidationError):
            adapter.validate_python(outside.isoformat())
