"""The API's lead model says what the `Lead` contract says, field by field.

`LeadIn` reads its bounds from the contract; this test fails when a field is added, dropped,
retyped, made optional or re-bounded in one and not the other.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from pydantic import TypeAdapter

from data_contracts.schemas import EngagementEvent, Lead, field_limits, vocabulary
from serving.schemas import EventIn, LeadIn

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
