"""`/v1/score` and `/v1/score/batch`: the routing answer for one lead or many."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter, ValidationError

from serving.champion import Champion
from serving.deps import ApiKey, ScoreContext, ScoreContextDep
from serving.schemas import (
    BATCH_EXAMPLES,
    SCORE_EXAMPLES,
    BatchScoreIn,
    BatchScoreOut,
    ErrorOut,
    ScoreIn,
    ScoreOut,
)
from serving.score_log import rows_from_answers
from serving.scoring import (
    FieldError,
    answers,
    check_extras,
    check_item,
    missing_inputs,
    paused_gc,
    score_items,
    score_meta,
    utc_now,
)

router = APIRouter(prefix="/v1/score", tags=["score"], dependencies=[ApiKey])

_ITEM = TypeAdapter(ScoreIn)
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Unreadable body (e.g. not UTF-8 JSON)."},
    401: {"model": ErrorOut, "description": "Missing or invalid API key."},
    413: {"model": ErrorOut, "description": "Request body too large."},
    422: {"model": ErrorOut, "description": "Invalid input; `loc` names the field."},
    503: {"model": ErrorOut, "description": "No signed-off champion is serving."},
}


def _json_response(payload: Any) -> Response:
    """Serialise once, by hand, with orjson: the answers are already plain JSON types (and
    their numbers checked finite), and a 10,000-lead answer is ~15 MB, which the standard
    library encodes in ~0.3 s, orjson in a tenth of that."""
    return Response(orjson.dumps(payload), media_type="application/json")


def _invalid(errors: list[FieldError], request_id: str) -> JSONResponse:
    return JSONResponse(
        {"detail": [e.as_dict() for e in errors], "request_id": request_id}, status_code=422
    )


def _score(
    champion: Champion,
    items: list[ScoreIn],
    as_ofs: list[datetime],
    request_id: str,
) -> list[dict[str, Any]]:
    kinds = champion.extra_kinds
    extras = [i.extras for i in items]
    scored = score_items(
        champion.model, [i.lead for i in items], [i.events for i in items], as_ofs, extras, kinds
    )
    meta = score_meta(champion.version, champion.feature_sets, champion.contract_version)
    return answers(
        scored,
        [i.lead.lead_id for i in items],
        as_ofs,
        request_id=request_id,
        meta=meta,
        missing=[missing_inputs(e, kinds) for e in extras],
    )


@router.post("", response_model=ScoreOut, responses=_ERRORS)
async def score_one(
    body: Annotated[ScoreIn, Body(openapi_examples=SCORE_EXAMPLES)], ctx: ScoreContextDep
) -> Response:
    """Score one lead with its recent events: scores, quadrant, action, SLA, reasons.

    Runs on the event loop, not the thread pool: a single lead is a few milliseconds of CPU,
    and a thread-pool hop adds a GIL handoff between the loop and the worker each request
    (up to the interpreter's 5 ms switch interval). The batch endpoint, which can take
    seconds, stays in the thread pool so it never blocks the loop.
    """
    now = utc_now()
    as_of, errors = check_item(
        body,
        now=now,
        skew=timedelta(seconds=ctx.settings.clock_skew_seconds),
        max_events=ctx.settings.max_events_per_lead,
    )
    errors += check_extras(body.extras, ctx.champion.extra_kinds, version=ctx.champion.version)
    if errors:
        return _invalid(errors, ctx.request_id)
    out = _score(ctx.champion, [body], [as_of], ctx.request_id)
    ctx.score_log.append(rows_from_answers(out, now.isoformat()))
    ctx.metrics.observe_scores([out[0]["quadrant"]])
    return _json_response(out[0])


@router.post("/batch", response_model=BatchScoreOut, responses=_ERRORS)
def score_batch(
    body: Annotated[BatchScoreIn, Body(openapi_examples=BATCH_EXAMPLES)], ctx: ScoreContextDep
) -> Response:
    """Score up to `max_batch` leads, answers in request order.

    Each item is validated on its own: a bad item is answered with its errors (by index)
    and the others are still scored, all by the same model version.
    """
    if len(body.items) > ctx.settings.max_batch:
        return _invalid(
            [
                FieldError(
                    ("body", "items"),
                    f"too many leads: {len(body.items)} > max_batch {ctx.settings.max_batch}",
                    "too_long",
                )
            ],
            ctx.request_id,
        )
    with paused_gc():
        return _score_batch(body, ctx)


def _score_batch(body: BatchScoreIn, ctx: ScoreContext) -> Response:
    champion, settings, request_id = ctx.champion, ctx.settings, ctx.request_id
    now = utc_now()
    skew = timedelta(seconds=settings.clock_skew_seconds)
    item_errors: dict[int, list[FieldError]] = {}
    valid: list[tuple[int, ScoreIn, datetime]] = []
    seen: dict[str, int] = {}
    kinds = champion.extra_kinds
    for index, raw in enumerate(body.items):
        loc: tuple[str | int, ...] = ("body", "items", index)
        try:
            item = _ITEM.validate_python(raw)
        except ValidationError as exc:
            item_errors[index] = [
                FieldError((*loc, *e["loc"]), e["msg"], e["type"]) for e in exc.errors()
            ]
            continue
        as_of, errors = check_item(
            item,
            now=now,
            skew=skew,
            max_events=settings.max_events_per_lead,
            default_as_of=body.as_of,
            loc=loc,
        )
        errors += check_extras(item.extras, kinds, version=champion.version, loc=loc)
        first = seen.get(item.lead.lead_id)
        if first is not None:
            errors.append(
                FieldError(
                    (*loc, "lead", "lead_id"),
                    f"duplicate lead_id in this batch (first at index {first})",
                    "duplicate",
                )
            )
        if errors:
            item_errors[index] = errors
            continue
        seen[item.lead.lead_id] = index
        valid.append((index, item, as_of))

    scored: dict[int, dict[str, Any]] = {}
    if valid:
        out = _score(champion, [v[1] for v in valid], [v[2] for v in valid], request_id)
        scored = {v[0]: answer for v, answer in zip(valid, out, strict=True)}
        ctx.score_log.append(rows_from_answers(out, now.astimezone(UTC).isoformat()))
        ctx.metrics.observe_scores([a["quadrant"] for a in out], failed_items=len(item_errors))
    results = [
        {"index": i, "ok": True, "result": scored[i], "errors": None}
        if i in scored
        else {
            "index": i,
            "ok": False,
            "result": None,
            "errors": [e.as_dict() for e in item_errors[i]],
        }
        for i in range(len(body.items))
    ]
    return _json_response(
        {
            "request_id": request_id,
            "model_version": champion.version,
            "n_ok": len(scored),
            "n_failed": len(item_errors),
            "results": results,
        }
    )
