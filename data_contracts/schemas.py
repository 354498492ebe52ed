"""Pandera contracts for the three CRM tables and the scored output.

Single-table rules live on the models; rules that need more than one table
(orphans, won-and-lost, time order) live in `data_contracts.cross_table`.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from data_contracts.vocab import (
    CHANNELS,
    EVENT_TYPES,
    FUNCTIONS,
    REJECT_REASONS,
    SENIORITIES,
    SOURCES,
    STAGES,
)

CONTRACT_VERSION = "1.0.0"

UTC_TS = {"unit": "us", "tz": "UTC"}


class Lead(pa.DataFrameModel):
    """One row per lead as marketing hands it over. Extra (mapped) columns are allowed."""

    lead_id: Series[str] = pa.Field(unique=True, str_length={"min_value": 1, "max_value": 128})
    created_at: Series[pd.DatetimeTZDtype] = pa.Field(dtype_kwargs=UTC_TS)
    email: Series[str] = pa.Field(nullable=True, str_length={"max_value": 320})
    company: Series[str] = pa.Field(nullable=True, str_length={"max_value": 256})
    phone: Series[str] = pa.Field(nullable=True, str_length={"max_value": 64})
    mobile: Series[str] = pa.Field(nullable=True, str_length={"max_value": 64})
    industry: Series[str] = pa.Field(nullable=True, str_length={"max_value": 128})
    employees: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=1, le=5_000_000)
    annual_revenue: Series[float] = pa.Field(nullable=True, ge=0, le=1e13)
    country: Series[str] = pa.Field(nullable=True, str_length={"max_value": 64})
    title: Series[str] = pa.Field(nullable=True, str_length={"max_value": 256})
    seniority: Series[str] = pa.Field(isin=list(SENIORITIES))
    function: Series[str] = pa.Field(isin=list(FUNCTIONS))
    source: Series[str] = pa.Field(isin=list(SOURCES))
    is_named_account: Series[bool] = pa.Field()

    class Config:
        name = "Lead"
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
    """What scoring hands back for one lead (batch file or API), one row per lead."""

    lead_id: Series[str] = pa.Field()
    model_version: Series[str] = pa.Field()
    fit_probability: Series[float] = pa.Field(ge=0, le=1)
    interest_probability: Series[float] = pa.Field(ge=0, le=1)
    win_probability: Series[float] = pa.Field(ge=0, le=1)
    fit_score: Series[int] = pa.Field(ge=0, le=100)
    interest_score: Series[int] = pa.Field(ge=0, le=100)
    win_score: Series[int] = pa.Field(ge=0, le=100)
    quadrant: Series[str] = pa.Field(
        isin=["sales_now", "nurture", "order_taker", "group_resources"]
    )
    action: Series[str] = pa.Field()
    tier: Series[int] = pa.Field(ge=1, le=4)
    speed_to_lead_minutes: Series[int] = pa.Field(ge=0)

    class Config:
        name = "ScoredLead"
        coerce = True
        strict = False


# The contract of each CRM table, by the table's name (and file stem) in a CRM folder.
SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "leads": Lead.to_schema(),
    "events": EngagementEvent.to_schema(),
    "outcomes": Outcome.to_schema(),
}

# Columns each table must carry, for row-level "missing column" reports and mappings.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(schema.columns) for name, schema in SCHEMAS.items()
}
