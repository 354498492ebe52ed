"""The feedback contract: what the CRM reports back about a lead after it was handed off.

One item is one thing that happened, named by the caller's `event_id` (a retried webhook
carries the same id, so it is recorded once): the first BDR `touch` (with its channel), or a
lifecycle `stage` from the outcomes contract (a meeting set, the AE's accept or reject with
its reason, the 1-5 meeting rating, opportunity, closed won or lost with an amount).
Vocabularies and bounds are read from `Outcome` and `data_contracts.vocab`, so feedback
accepts exactly what the outcomes table accepts; `outcome_rows` turns items into that table.

Why a touch becomes the outcome stage `accepted` and not an engagement event: events feed
the interest features, and a BDR's call is caused by the score. Training on it would teach
the model its own routing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pandas as pd
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from data_contracts.schemas import Outcome, field_limits
from data_contracts.vocab import (
    AMOUNT_STAGES,
    CHANNELS,
    RATED_STAGES,
    REJECT_REASONS,
    STAGES,
)

TOUCH = "touch"
# A touch is recorded in the outcomes contract as this stage (the BDR has taken the lead).
TOUCH_STAGE = "accepted"
REJECTED_STAGE = "sales_rejected"
AE_ACCEPTED_STAGE = "sales_accepted"
FEEDBACK_TYPES: tuple[str, ...] = (TOUCH, *STAGES)

if TYPE_CHECKING:
    FeedbackType = str
    Channel = str
    RejectReason = str
else:
    FeedbackType = Literal[FEEDBACK_TYPES]
    Channel = Literal[CHANNELS]
    RejectReason = Literal[REJECT_REASONS]

_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _text_time(value: Any) -> Any:
    """A number would be read as a Unix time: only ISO text (or a datetime) is a time here."""
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO-8601 timestamp string with a time zone")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("needs a time zone (e.g. 2026-01-31T09:00:00Z)")
    if not _EARLIEST <= value < _LATEST:
        raise ValueError(f"must be between {_EARLIEST:%Y-%m-%d} and {_LATEST:%Y-%m-%d}")
    return value


class FeedbackItem(BaseModel):
    """One thing that happened to a lead, as the CRM posts it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_id: str = Field(min_length=1, max_length=128)
    lead_id: str = Field(**field_limits(Outcome, "lead_id"))
    type: FeedbackType
    occurred_at: Annotated[datetime, BeforeValidator(_text_time), AfterValidator(_aware)]
    channel: Channel | None = None
    reject_reason: RejectReason | None = None
    meeting_rating: int | None = Field(default=None, **field_limits(Outcome, "meeting_rating"))
    amount: float | None = Field(
        default=None, allow_inf_nan=False, **field_limits(Outcome, "amount")
    )

    @model_validator(mode="after")
    def _fields_fit_the_type(self) -> FeedbackItem:
        """The outcomes contract's placement rules, said before anything is stored."""
        if self.channel is not None and self.type != TOUCH:
            raise ValueError(f"channel is only for type {TOUCH}")
        if self.type == REJECTED_STAGE and self.reject_reason is None:
            raise ValueError(f"reject_reason is required for {REJECTED_STAGE}")
        if self.reject_reason is not None and self.type != REJECTED_STAGE:
            raise ValueError(f"reject_reason is only for {REJECTED_STAGE}")
        if self.meeting_rating is not None and self.type not in RATED_STAGES:
            raise ValueError(f"meeting_rating is only for {', '.join(RATED_STAGES)}")
        if self.amount is not None and self.type not in AMOUNT_STAGES:
            raise ValueError(f"amount is only for {', '.join(AMOUNT_STAGES)}")
        return self


OUTCOME_COLUMNS: tuple[str, ...] = tuple(Outcome.to_schema().columns)


def outcome_rows(feedback: pd.DataFrame) -> pd.DataFrame:
    """Feedback records (`FeedbackItem` fields, any order) as the `outcomes` table.

    The contract allows one row per (lead, stage): the earliest report of each is kept (a
    lead's first touch is when it was taken; a later duplicate is a CRM re-send).
    """
    if feedback.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in OUTCOME_COLUMNS})
    frame = feedback.copy()
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True, format="ISO8601")
    frame["stage"] = frame["type"].where(frame["type"] != TOUCH, TOUCH_STAGE)
    frame = frame.sort_values(["occurred_at", "event_id"], kind="stable")
    frame = frame.drop_duplicates(["lead_id", "stage"], keep="first")
    out = frame[list(OUTCOME_COLUMNS)].reset_index(drop=True)
    out["meeting_rating"] = out["meeting_rating"].astype("Int64")
    out["amount"] = out["amount"].astype(float)
    return out
