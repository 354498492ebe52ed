"""Feedback from the CRM, committed to the serving database before it is acknowledged.

The `feedback` table sits beside the score log in the same `serving.store.Store`, so it has
the same rule (a row is committed before `write` returns) on the same database with any
number of workers. Its natural key is the caller's `event_id`: a retried post meets "on
conflict do nothing" and adds nothing; `record` then reads the rows back and tells, item by
item, whether this call recorded it or it was there already (and whether with the same
content), so a retry is answered truthfully rather than counted twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from data_contracts.feedback import FeedbackItem
from serving.store import Row, Store, Table, read_keyed, read_table

_ITEM_FIELDS: tuple[str, ...] = tuple(FeedbackItem.model_fields)

FEEDBACK = Table(
    name="feedback",
    columns=(
        ("event_id", "text"),
        ("lead_id", "text"),
        ("type", "text"),
        ("occurred_at", "text"),
        ("channel", "text"),
        ("reject_reason", "text"),
        ("meeting_rating", "int"),
        ("amount", "float"),
        ("digest", "text"),  # of the item's content: a re-send with other content is named
        ("received_by", "text"),  # the request (or import) that recorded it
        ("received_at", "text"),
        ("source", "text"),  # api | import
    ),
    key=("event_id",),
    indexes=(("lead_id",),),
    nullable=("channel", "reject_reason", "meeting_rating", "amount"),
)
assert set(_ITEM_FIELDS) <= set(FEEDBACK.column_names), "every item field has a column"

Status = Literal["recorded", "duplicate", "conflict"]


def item_digest(item: FeedbackItem) -> str:
    return hashlib.sha256(
        json.dumps(item.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()[:16]


def rows_from_items(
    items: Sequence[FeedbackItem], *, received_by: str, received_at: str, source: str
) -> list[Row]:
    return [
        (
            i.event_id,
            i.lead_id,
            i.type,
            pd.Timestamp(i.occurred_at).tz_convert("UTC").isoformat(),
            i.channel,
            i.reject_reason,
            i.meeting_rating,
            i.amount,
            item_digest(i),
            received_by,
            received_at,
            source,
        )
        for i in items
    ]


@dataclass(frozen=True)
class Recorded:
    """What became of each item: `recorded` by this call, a `duplicate` of one already there
    (same content), or a `conflict` (the id was already used for other content, which stays)."""

    statuses: list[Status]

    @property
    def n_recorded(self) -> int:
        return self.statuses.count("recorded")


class FeedbackLog:
    """The feedback table of a `Store`: `record` returns once every item is committed."""

    def __init__(self, store: Store, *, timeout_seconds: float) -> None:
        if FEEDBACK not in store.tables:
            raise ValueError("the store was opened without the feedback table")
        self.store = store
        self.timeout_seconds = timeout_seconds

    async def record(
        self, items: Sequence[FeedbackItem], *, received_by: str, received_at: str, source: str
    ) -> Recorded:
        rows = rows_from_items(
            items, received_by=received_by, received_at=received_at, source=source
        )
        await self.store.write(FEEDBACK, rows, self.timeout_seconds)
        stored = await asyncio.to_thread(
            read_keyed, self.store.url_text, FEEDBACK, "event_id", [i.event_id for i in items]
        )
        return statuses(items, stored, received_by)

    def record_blocking(
        self, items: Sequence[FeedbackItem], *, received_by: str, received_at: str, source: str
    ) -> Recorded:
        rows = rows_from_items(
            items, received_by=received_by, received_at=received_at, source=source
        )
        self.store.write_blocking(FEEDBACK, rows, self.timeout_seconds)
        stored = read_keyed(self.store.url_text, FEEDBACK, "event_id", [i.event_id for i in items])
        return statuses(items, stored, received_by)


def statuses(
    items: Sequence[FeedbackItem], stored: list[dict[str, Any]], received_by: str
) -> Recorded:
    by_id = {row["event_id"]: row for row in stored}
    out: list[Status] = []
    for item in items:
        row = by_id[item.event_id]  # committed before we read: it is there
        if row["received_by"] == received_by:
            out.append("recorded")
        elif row["digest"] == item_digest(item):
            out.append("duplicate")
        else:
            out.append("conflict")
    return Recorded(out)


def read_feedback(url: str) -> pd.DataFrame:
    """Every feedback row, oldest first, with the item fields (monitoring, export)."""
    rows = read_table(url, FEEDBACK)
    columns = [name for name in FEEDBACK.column_names]
    return pd.DataFrame(rows, columns=["id", *columns]).drop(columns="id")
