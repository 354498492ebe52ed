"""`POST /v1/feedback`: what happened to handed-off leads, one item or a batch.

A batch is all or nothing: one bad item refuses the whole batch with every bad item named
(by index and field), so the CRM fixes and re-sends one batch rather than working out which
half landed. Nothing is acknowledged before it is committed (`FeedbackLog.record`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, TypeAdapter, ValidationError

from data_contracts.feedback import FeedbackItem
from serving.deps import ApiKey
from serving.feedback import FeedbackLog, Status
from serving.routers.errors import body_errors
from serving.scoring import FieldError, utc_now

router = APIRouter(prefix="/v1/feedback", tags=["feedback"], dependencies=[ApiKey])

_ITEM = TypeAdapter(FeedbackItem)


class FeedbackItemOut(BaseModel):
    index: int
    event_id: str
    status: Status


class FeedbackOut(BaseModel):
    """`recorded` items are new; `duplicate` ones were already there (a retry: nothing is
    added); `conflict` ones reused an event id for other content (the first record stays)."""

    request_id: str
    n_items: int
    n_recorded: int
    n_duplicate: int
    n_conflict: int
    results: list[FeedbackItemOut]


def _errors(raw: Any, max_items: int) -> tuple[list[FeedbackItem], list[FieldError]]:
    """The items, or every problem (loc names the item and field; values never echoed)."""
    single = not (isinstance(raw, dict) and "items" in raw)
    listed = [raw] if single else raw["items"]
    where: tuple[str | int, ...] = ("body",) if single else ("body", "items")
    if not isinstance(listed, list):
        return [], [FieldError(where, "must be a list of feedback items", "list_type")]
    if not single and set(raw) != {"items"}:
        extra = sorted(set(raw) - {"items"})
        return [], [FieldError(("body", extra[0]), "unknown field", "extra_forbidden")]
    if len(listed) > max_items:
        return [], [FieldError(where, f"too many items: {len(listed)} > {max_items}", "too_long")]
    if not listed:
        return [], [FieldError(where, "at least one item", "too_short")]
    items: list[FeedbackItem] = []
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    for index, value in enumerate(listed):
        loc = where if single else (*where, index)
        try:
            item = _ITEM.validate_python(value)
        except ValidationError as exc:
            errors.extend(FieldError((*loc, *e["loc"]), e["msg"], e["type"]) for e in exc.errors())
            continue
        first = seen.setdefault(item.event_id, index)
        if first != index:
            errors.append(
                FieldError(
                    (*loc, "event_id"),
                    f"duplicate event_id in this batch (first at index {first})",
                    "duplicate",
                )
            )
        items.append(item)
    return items, errors


@router.post(
    "",
    response_model=FeedbackOut,
    responses=body_errors(
        invalid="Invalid items; `loc` names item and field.",
        unavailable="Not committed: nothing acknowledged; retry.",
    ),
)
async def post_feedback(
    request: Request,
    body: Annotated[Any, Body(description='One feedback item, or {"items": [...]}')],
) -> Any:
    """Record one item or a batch; idempotent on each item's `event_id`."""
    request_id = str(request.state.request_id)
    settings = request.app.state.settings
    items, errors = _errors(body, settings.max_batch)
    if errors:
        return JSONResponse(
            {"detail": [e.as_dict() for e in errors], "request_id": request_id}, status_code=422
        )
    log: FeedbackLog = request.app.state.feedback
    recorded = await log.record(
        items, received_by=request_id, received_at=utc_now().isoformat(), source="api"
    )
    return FeedbackOut(
        request_id=request_id,
        n_items=len(items),
        n_recorded=recorded.n_recorded,
        n_duplicate=recorded.statuses.count("duplicate"),
        n_conflict=recorded.statuses.count("conflict"),
        results=[
            FeedbackItemOut(index=i, event_id=item.event_id, status=status)
            for i, (item, status) in enumerate(zip(items, recorded.statuses, strict=True))
        ],
    )
