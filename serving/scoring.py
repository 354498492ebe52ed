"""Turn validated requests into contract-typed frames, score them, shape the answers.

The API, the batch endpoint and `handoff score` all go through `HandoffModel.score_raw`,
which builds features with the same code training used; nothing here computes a feature.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from data_contracts import CONTRACT_VERSION
from serving.schemas import EventIn, LeadIn, ScoreIn

LEAD_FIELDS: tuple[str, ...] = tuple(LeadIn.model_fields)
EVENT_FIELDS: tuple[str, ...] = ("lead_id", "occurred_at", "type", "channel", "campaign")
STRING_LEAD_FIELDS: tuple[str, ...] = (
    "lead_id",
    "email",
    "company",
    "phone",
    "mobile",
    "industry",
    "country",
    "title",
    "seniority",
    "function",
    "source",
)


class ScoringFailed(RuntimeError):
    """The model returned something unusable (missing lead, NaN): a server-side fault."""


@dataclass(frozen=True)
class FieldError:
    """One input problem, in the shape FastAPI uses for 422 details."""

    loc: tuple[str | int, ...]
    msg: str
    type: str

    def as_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


def utc_now() -> datetime:
    return datetime.now(UTC)


def check_item(
    item: ScoreIn,
    *,
    now: datetime,
    skew: timedelta,
    max_events: int,
    default_as_of: datetime | None = None,
    loc: tuple[str | int, ...] = ("body",),
) -> tuple[datetime, list[FieldError]]:
    """Rules pydantic cannot express alone: nothing from the future, bounded event lists.

    Returns the effective `as_of`. Without one, it is now, nudged just past the latest
    timestamp sent when that is within the clock skew, so a slightly fast client clock
    does not make a lead's newest event invisible.
    """
    errors: list[FieldError] = []
    if len(item.events) > max_events:
        errors.append(
            FieldError(
                (*loc, "events"),
                f"too many events: {len(item.events)} > {max_events} per lead",
                "too_long",
            )
        )
    as_of = item.as_of or default_as_of
    if as_of is not None:
        if as_of > now + skew:
            field = "as_of" if item.as_of is not None else "batch as_of"
            errors.append(
                FieldError(
                    (*loc, "as_of"), f"{field} is in the future ({as_of.isoformat()})", "future"
                )
            )
        limit = as_of + skew
        reference = "as_of"
    else:
        limit = now + skew
        reference = "now"
        stamps = [item.lead.created_at, *(e.occurred_at for e in item.events)]
        latest = max(stamps)
        as_of = max(now, latest + timedelta(microseconds=1)) if latest <= limit else now
    if item.lead.created_at > limit:
        errors.append(
            FieldError(
                (*loc, "lead", "created_at"),
                f"lead created in the future: later than {reference} plus {skew.total_seconds():g}s skew",
                "future",
            )
        )
    for i, event in enumerate(item.events):
        if event.occurred_at > limit:
            errors.append(
                FieldError(
                    (*loc, "events", i, "occurred_at"),
                    f"event from the future: later than {reference} plus {skew.total_seconds():g}s skew",
                    "future",
                )
            )
    return as_of, errors


def _utc_us(values: Sequence[datetime]) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values), utc=True)).astype("datetime64[us, UTC]")


def build_frames(
    leads: Sequence[LeadIn], events: Sequence[Sequence[EventIn]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Contract-typed `leads` and `events` frames, as validated CRM data would be."""
    columns: dict[str, Any] = {f: [getattr(lead, f) for lead in leads] for f in LEAD_FIELDS}
    frame = pd.DataFrame({f: columns[f] for f in STRING_LEAD_FIELDS}, dtype="str")
    frame["created_at"] = _utc_us(columns["created_at"]).to_numpy()
    frame["employees"] = pd.array(columns["employees"], dtype="Int64")
    frame["annual_revenue"] = pd.array(
        [np.nan if v is None else float(v) for v in columns["annual_revenue"]], dtype="float64"
    )
    frame["is_named_account"] = np.array(columns["is_named_account"], dtype=bool)

    ids: list[str] = []
    when: list[datetime] = []
    kinds: list[str] = []
    channels: list[str | None] = []
    campaigns: list[str | None] = []
    for lead, lead_events in zip(leads, events, strict=True):
        for e in lead_events:
            ids.append(lead.lead_id)
            when.append(e.occurred_at)
            kinds.append(e.type)
            channels.append(e.channel)
            campaigns.append(e.campaign)
    ev = pd.DataFrame(
        {
            "lead_id": pd.Series(ids, dtype="str"),
            "occurred_at": _utc_us(when) if when else pd.Series([], dtype="datetime64[us, UTC]"),
            "type": pd.Series(kinds, dtype="str"),
            "channel": pd.Series(channels, dtype="str"),
            "campaign": pd.Series(campaigns, dtype="str"),
        }
    )
    return frame, ev


def _reasons(value: Any) -> list[dict[str, Any]]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [
        {
            "feature": str(r["feature"]),
            "text": str(r["text"]),
            "direction": str(r["direction"]),
            "weight": float(r["weight"]),
        }
        for r in value
    ]


def _strings(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [str(v) for v in value]


def _prob(value: Any, name: str) -> float:
    p = float(value)
    if not math.isfinite(p):
        raise ScoringFailed(f"model returned a non-finite {name}")
    return p


def score_frame(
    model: Any,
    leads: pd.DataFrame,
    events: pd.DataFrame,
    as_of: pd.Timestamp | pd.Series,
    *,
    reasons: bool = True,
) -> pd.DataFrame:
    """`score_raw`, with rows keyed and ordered by the leads frame's `lead_id`."""
    scored = model.score_raw(leads, events, as_of, reasons=reasons)
    if "lead_id" in scored.columns:
        scored = scored.set_index("lead_id")
    ids = leads["lead_id"].tolist()
    missing = scored.index.difference(pd.Index(ids))
    if len(scored) < len(ids) or len(missing):
        raise ScoringFailed("the model did not return one row per lead")
    return scored.reindex(ids)


def answers(
    scored: pd.DataFrame,
    as_of: Sequence[datetime],
    *,
    request_id: str,
    meta: dict[str, Any],
) -> list[dict[str, Any]]:
    """One `ScoreOut`-shaped dict per scored row (built by hand: pydantic is too slow at 10k)."""
    out: list[dict[str, Any]] = []
    has_reasons = "fit_reasons" in scored.columns
    records = scored.to_dict("records")
    for lead_id, row, when in zip(scored.index, records, as_of, strict=True):
        out.append(
            {
                "request_id": request_id,
                "lead_id": str(lead_id),
                "as_of": when.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "fit": {
                    "score": int(row["fit_score"]),
                    "probability": _prob(row["fit_probability"], "fit_probability"),
                    "reasons": _reasons(row.get("fit_reasons")) if has_reasons else [],
                },
                "interest": {
                    "score": int(row["interest_score"]),
                    "probability": _prob(row["interest_probability"], "interest_probability"),
                    "reasons": _reasons(row.get("interest_reasons")) if has_reasons else [],
                },
                "combined": {
                    "score": int(row["win_score"]),
                    "probability": _prob(row["win_probability"], "win_probability"),
                },
                "quadrant": str(row["quadrant"]),
                "action": str(row["action"]),
                "tier": int(row["tier"]),
                "speed_to_lead_minutes": int(row["speed_to_lead_minutes"]),
                "unseen_categories": _strings(row.get("unseen_categories")),
                **meta,
            }
        )
    return out


def score_meta(
    version: str, feature_sets: list[dict[str, str]], contract_version: str
) -> dict[str, Any]:
    """The per-answer provenance: which model, features and contracts produced it."""
    return {
        "model_version": version,
        "feature_sets": feature_sets,
        "contract_version": contract_version,
        "api_contract_version": CONTRACT_VERSION,
    }


def warm_up(model: Any) -> None:
    """Score one made-up lead so the first real request does not pay first-call costs."""
    now = utc_now()
    lead = LeadIn(
        lead_id="warm-up",
        created_at=now - timedelta(days=3),
        seniority="manager",
        function="marketing",
        source="inbound_form",
        is_named_account=False,
        industry="software",
        employees=100,
    )
    ev = [EventIn(occurred_at=now - timedelta(days=1), type="pricing_page", channel="web")]
    leads, events = build_frames([lead], [ev])
    score_frame(model, leads, events, pd.Timestamp(now), reasons=True)
