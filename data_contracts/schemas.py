"""Pandera contracts for the CRM tables (leads, events, outcomes, optional accounts) and the
scored output.

Single-table rules live on the models; rules that need more than one table
(orphans, won-and-lost, time order) live in `data_contracts.cross_table`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from data_contracts.vocab import (
    ABM_TIERS,
    CHANNELS,
    EVENT_TYPES,
    FUNCTIONS,
    QUADRANTS,
    REASON_TEXT_MAX,
    REJECT_REASONS,
    SCORE_MAX,
    SENIORITIES,
    SOURCES,
    STAGES,
    TIERS,
)

# 1.1.0: leads carry the account key `account_id` (nullable; may be left out, see below).
# 1.2.0: an optional `accounts` table the leads' `account_id` points into.
CONTRACT_VERSION = "1.2.0"

UTC_TS = {"unit": "us", "tz": "UTC"}
REASON_TEXT = {"max_value": REASON_TEXT_MAX}

# Fields a lead and its account share, written once so both contracts state the same bounds.
KEY_TEXT: dict[str, Any] = {"str_length": {"min_value": 1, "max_value": 128}}
ACCOUNT_KEY: dict[str, Any] = {"nullable": True, "str_length": {"max_value": 128}}
COMPANY_NAME: dict[str, Any] = {"nullable": True, "str_length": {"max_value": 256}}
INDUSTRY: dict[str, Any] = {"nullable": True, "str_length": {"max_value": 128}}
EMPLOYEES: dict[str, Any] = {"nullable": True, "ge": 1, "le": 5_000_000}
REVENUE: dict[str, Any] = {"nullable": True, "ge": 0, "le": 1e13}
COUNTRY: dict[str, Any] = {"nullable": True, "str_length": {"max_value": 64}}


class Lead(pa.DataFrameModel):
    """One row per lead as marketing hands it over. Extra (mapped) columns are allowed."""

    lead_id: Series[str] = pa.Field(unique=True, **KEY_TEXT)
    created_at: Series[pd.DatetimeTZDtype] = pa.Field(dtype_kwargs=UTC_TS)
    email: Series[str] = pa.Field(nullable=True, str_length={"max_value": 320})
    company: Series[str] = pa.Field(**COMPANY_NAME)
    account_id: Series[str] = pa.Field(**ACCOUNT_KEY)
    phone: Series[str] = pa.Field(nullable=True, str_length={"max_value": 64})
    mobile: Series[str] = pa.Field(nullable=True, str_length={"max_value": 64})
    industry: Series[str] = pa.Field(**INDUSTRY)
    employees: Series[pd.Int64Dtype] = pa.Field(**EMPLOYEES)
    annual_revenue: Series[float] = pa.Field(**REVENUE)
    country: Series[str] = pa.Field(**COUNTRY)
    title: Series[str] = pa.Field(nullable=True, str_length={"max_value": 256})
    seniority: Series[str] = pa.Field(isin=list(SENIORITIES))
    function: Series[str] = pa.Field(isin=list(FUNCTIONS))
    source: Series[str] = pa.Field(isin=list(SOURCES))
    is_named_account: Series[bool] = pa.Field()

    class Config:
        name = "Lead"
        coerce = True
        strict = False


class Account(pa.DataFrameModel):
    """One row per account (company) the leads work for: the optional `accounts` table.

    Firmographics are the account's own, so they may differ from what a lead typed in; a
    business unit is an account with a `parent_account_id`. Rules across accounts and leads
    (unknown account, duplicate domain, a lead's company that is not its account's) live in
    `cross_table`.
    """

    account_id: Series[str] = pa.Field(unique=True, **KEY_TEXT)
    name: Series[str] = pa.Field(**COMPANY_NAME)
    domain: Series[str] = pa.Field(nullable=True, str_length={"max_value": 253})
    industry: Series[str] = pa.Field(**INDUSTRY)
    employees: Series[pd.Int64Dtype] = pa.Field(**EMPLOYEES)
    annual_revenue: Series[float] = pa.Field(**REVENUE)
    country: Series[str] = pa.Field(**COUNTRY)
    is_named_account: Series[bool] = pa.Field()
    abm_tier: Series[str] = pa.Field(nullable=True, isin=list(ABM_TIERS))
    parent_account_id: Series[str] = pa.Field(**ACCOUNT_KEY)
    business_unit: Series[str] = pa.Field(nullable=True, str_length={"max_value": 128})
    owner: Series[str] = pa.Field(nullable=True, str_length={"max_value": 128})

    class Config:
        name = "Account"
        coerce = True
        strict = False


class EngagementEvent(pa.DataFrameModel):
    """One timestamped touch by a lead."""

    lead_id: Series[str] = pa.Field(str_length={"min_value": 1, "max_value": 128})
    occurred_at: Series[pd.DatetimeTZDtype] = pa.Field(dtype_kwargs=UTC_TS)
    type: Series[str] = pa.Field(isin=list(EVENT_TYPES))
    channel: Series[str] = pa.Field(nullable=True, isin=list(CHANNELS))
    campaign: Series[str] = pa.Field(nullable=True, str_length={"max_value": 256})

    class Config:
        name = "EngagementEvent"
        coerce = True
        strict = False


class Outcome(pa.DataFrameModel):
    """One lifecycle stage transition of a lead, with its time."""

    lead_id: Series[str] = pa.Field(str_length={"min_value": 1, "max_value": 128})
    stage: Series[str] = pa.Field(isin=list(STAGES))
    occurred_at: Series[pd.DatetimeTZDtype] = pa.Field(dtype_kwargs=UTC_TS)
    reject_reason: Series[str] = pa.Field(nullable=True, isin=list(REJECT_REASONS))
    amount: Series[float] = pa.Field(nullable=True, ge=0, le=1e12)
    meeting_rating: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=1, le=5)

    class Config:
        name = "Outcome"
        coerce = True
        strict = False


class ScoredLead(pa.DataFrameModel):
    """One scored lead as `handoff score` writes it (the API's answer, flattened to a row).

    Batch scoring validates every chunk it writes against this model, so the file's columns
    and ranges are a contract, not a convention. Reasons are `text (+)`/`text (-)` joined by
    `; `; each score's `*_reason_text` is the API's `reason_text` (one plain line of at most
    `REASON_TEXT_MAX` characters); unseen categories are `column=value` joined by `,`.
    """

    request_id: Series[str] = pa.Field()
    lead_id: Series[str] = pa.Field(str_length={"min_value": 1, "max_value": 128})
    as_of: Series[pd.DatetimeTZDtype] = pa.Field(dtype_kwargs=UTC_TS)
    fit_score: Series[int] = pa.Field(ge=0, le=SCORE_MAX)
    fit_probability: Series[float] = pa.Field(ge=0, le=1)
    fit_reasons: Series[str] = pa.Field()
    fit_reason_text: Series[str] = pa.Field(str_length=REASON_TEXT)
    interest_score: Series[int] = pa.Field(ge=0, le=SCORE_MAX)
    interest_probability: Series[float] = pa.Field(ge=0, le=1)
    interest_reasons: Series[str] = pa.Field()
    interest_reason_text: Series[str] = pa.Field(str_length=REASON_TEXT)
    combined_score: Series[int] = pa.Field(ge=0, le=SCORE_MAX)
    combined_probability: Series[float] = pa.Field(ge=0, le=1)
    combined_reason_text: Series[str] = pa.Field(str_length=REASON_TEXT)
    quadrant: Series[str] = pa.Field(isin=list(QUADRANTS))
    action: Series[str] = pa.Field()
    tier: Series[int] = pa.Field(isin=list(TIERS))
    speed_to_lead_minutes: Series[int] = pa.Field(ge=0)
    unseen_categories: Series[str] = pa.Field()
    model_version: Series[str] = pa.Field()
    feature_sets: Series[str] = pa.Field()
    contract_version: Series[str] = pa.Field()
    api_contract_version: Series[str] = pa.Field()

    class Config:
        name = "ScoredLead"
        coerce = True
        strict = True
        ordered = True


# The contract of each CRM table, by the table's name (and file stem) in a CRM folder.
SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "leads": Lead.to_schema(),
    "events": EngagementEvent.to_schema(),
    "outcomes": Outcome.to_schema(),
    "accounts": Account.to_schema(),
}

# Columns each table must carry, for row-level "missing column" reports and mappings.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(schema.columns) for name, schema in SCHEMAS.items()
}


# How a yes/no value may be written in an export (case and spaces aside).
TRUE_WORDS: frozenset[str] = frozenset({"true", "t", "1", "yes", "y", "1.0"})
FALSE_WORDS: frozenset[str] = frozenset({"false", "f", "0", "no", "n", "0.0"})

# Columns added after contract 1.0.0: a table written before them may leave them out (they
# read as absent fields, never as a failure), so folders written for 1.0.0 stay valid.
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "leads": ("account_id",),
    "events": (),
    "outcomes": (),
    # An account export often lacks the ABM and hierarchy fields; they read as missing.
    "accounts": ("domain", "abm_tier", "parent_account_id", "business_unit", "owner"),
}

# Lead fields a mapping may declare absent (the export does not have them): every field but
# the key and the creation time, which features, labels and the split cannot do without.
ABSENTABLE_FIELDS: tuple[str, ...] = tuple(
    name for name in SCHEMAS["leads"].columns if name not in ("lead_id", "created_at")
)


# Account fields a mapping may declare absent (read as missing): all but the key and the
# named-account flag, which the contract never leaves missing, so an export without an ABM
# list says so (`value = false`) rather than leave it out.
ACCOUNT_ABSENTABLE_FIELDS: tuple[str, ...] = tuple(
    name for name in SCHEMAS["accounts"].columns if name not in ("account_id", "is_named_account")
)


_LIMIT_KEYS: dict[tuple[str, str], str] = {
    ("greater_than_or_equal_to", "min_value"): "ge",
    ("less_than_or_equal_to", "max_value"): "le",
    ("str_length", "min_value"): "min_length",
    ("str_length", "max_value"): "max_length",
}


def field_limits(model: type[pa.DataFrameModel], column: str) -> dict[str, Any]:
    """A contract column's bounds as pydantic `Field` keywords (ge, le, min_length,
    max_length), read from its pandera checks: the API states the same bounds as the
    contract because it reads them from here."""
    limits: dict[str, Any] = {}
    for check in model.to_schema().columns[column].checks:
        for (name, stat), key in _LIMIT_KEYS.items():
            value = (check.statistics or {}).get(stat)
            if check.name == name and value is not None:
                limits[key] = value
    return limits


def vocabulary(model: type[pa.DataFrameModel], column: str) -> tuple[str, ...] | None:
    """The allowed values of a closed-vocabulary contract column (its `isin` check)."""
    for check in model.to_schema().columns[column].checks:
        if check.name == "isin":
            return tuple(check.statistics["allowed_values"])
    return None


def string_columns(model: type[pa.DataFrameModel]) -> tuple[str, ...]:
    """The contract's text columns, in contract order."""
    return tuple(
        name
        for name, col in model.to_schema().columns.items()
        if pd.api.types.is_string_dtype(col.dtype.type)
    )
