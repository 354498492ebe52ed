"""Data contracts: what a lead, an engagement event and an outcome must look like."""

import data_contracts._pandera_import  # noqa: F401  (first: pandera without pandas-on-Spark)
from data_contracts.schemas import (
    CONTRACT_VERSION,
    REQUIRED_COLUMNS,
    EngagementEvent,
    Lead,
    Outcome,
    ScoredLead,
)

__all__ = [
    "CONTRACT_VERSION",
    "REQUIRED_COLUMNS",
    "EngagementEvent",
    "Lead",
    "Outcome",
    "ScoredLead",
]
