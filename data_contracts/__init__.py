"""Data contracts: what a lead, an engagement event and an outcome must look like."""

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
