"""`/v1/score` and `/v1/score/batch`: the routing answer for one lead or many."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter, ValidationError
from starlette.background import BackgroundTask

from models.pyfunc import FEATURES_KEY
from serving.account_scoring import check_lead_account, lead_account_inputs, with_account_parts
from serving.champion import Champion, ChampionHolder
from serving.deps import ApiKey, ScoreContext, ScoreContextDep
from serving.routers.errors import body_errors
from serving.schemas import (
    BATCH_EXAMPLES,
    SCORE_EXAMPLES,
    BatchScoreIn,
    BatchScoreOut,
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
_ITEMS = TypeAdapter(list[ScoreIn])
_ERRORS = body_errors(
    invalid="Invalid input; `loc` names the field.",
    unavailable="No signed-off champion is serving, or the score log could not record the "
    "scores (nothing is answered that is not recorded).",
)


def _json_response(payload: Any, background: BackgroundTask | None = None) -> Response:
    """Serialise once, by hand, with orjson: the answers are already plain JSON types (and
    their numbers checked finite), and a 10,000-lead answer is ~15 MB, which the standard
    library encodes in ~0.3 s, orjson in a tenth of that."""
    return Response(orjson.dumps(payload), media_type="application/json", background=background)


def _in_shadow(
    ctx: ScoreContext, items: list[ScoreIn], as_ofs: list[datetime], scored_at: str
) -> BackgroundTask | None:
    """The challenger's scoring of the same leads, to run once the answer is sent."""
    challenger = ctx.shadow.current if ctx.shadow is not None else None
    if challenger is None or ctx.shadow is None or not items:
        return None
    request_id = ctx.request_id
    return BackgroundTask(
        ctx.shadow.score, lambda: _score(challenger, items, as_ofs, request_id), scored_at
    )


def _invalid(errors: list[FieldError], request_id: str) -> JSONResponse:
    return JSONResponse(
        {"detail": [e.as_dict() for e in errors], "request_id": request_id}, status_code=422
    )


def _score(
    champion: Champion,
    items: list[ScoreIn],
    as_ofs: list[datetime],
    request_id: str,
    accounts: ChampionHolder | None = None,
) -> list[dict[str, Any]]:
    """The answers; with `accounts` (the account champion's holder), each with its account
    part (the shadow's answers are never sent, so it scores no accounts)."""
    return _scored(champion, items, as_ofs, request_id, accounts, keep_features=False)[0]


def _scored(
    champion: Champion,
    items: list[ScoreIn],
    as_ofs: list[datetime],
    request_id: str,
    accounts: ChampionHolder | None,
    *,
    keep_features: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The answers (with account parts when `accounts` is given), and the feature columns
    they were scored from (empty unless kept)."""
    kinds = champion.extra_kinds
    extras = [i.extras for i in items]
    scored = score_items(
        champion.model,
        [i.lead for i in items],
        [i.events for i in items],
        as_ofs,
        extras,
        kinds,
        keep_features=keep_features,
        accounts=lead_account_inputs(items, as_ofs) if champion.model.reads_accounts else None,
    )
    meta = score_meta(champion.version, champion.feature_sets, champion.contract_version)
    out = answers(
        scored,
        [i.lead.lead_id for i in items],
        as_ofs,
        request_id=request_id,
        meta=meta,
        missing=[missing_inputs(e, kinds) for e in extras],
    )
    features = scored.get(FEATURES_KEY, {})
    if accounts is None:
        return out, features
    return with_account_parts(out, items, as_ofs, accounts.current, accounts.reason), features


def _champion_scored(
    ctx: ScoreContext, items: list[ScoreIn], as_ofs: list[datetime], now: datetime
) -> list[dict[str, Any]]:
    """Score with the champion, record the answers (before they are sent), and count the
    leads' features into its drift profile's bins."""
    counter, profile = ctx.feature_counts, ctx.champion.feature_profile
    counting = counter is not None and profile is not None
    out, features = _scored(
        ctx.champion, items, as_ofs, ctx.request_id, ctx.accounts, keep_features=counting
    )
    ctx.score_log.record_blocking(rows_from_answers(out, now.astimezone(UTC).isoformat()))
    if counter is not None:  # only what was recorded is counted
        counter.add(ctx.champion.version, profile, features, len(out), now)
    return out


@router.post("", response_model=ScoreOut, responses=_ERRORS)
def score_one(
    body: Annotated[ScoreIn, Body(openapi_examples=SCORE_EXAMPLES)], ctx: ScoreContextDep
) -> Response:
    """Score one lead with its recent events: scores, quadrant, action, SLA, reasons.

    A plain `def`, so FastAPI runs it in its thread pool, and the thread commits the log row
    itself (`Store.write_blocking`), taking along the rows of requests that wait meanwhile:
    on PostgreSQL or SQLite with `synchronous=full` concurrent requests share one round trip
    or fsync. `tests/benchmarks/bench_load.py --variants` measures the alternatives
    (`eventloop-N`, `eventloop-direct-N`): on a loaded box the thread pool answered more; on a
    quiet one the event loop committing itself had the shorter tail at 32 connections, but
    it blocks the loop for every commit, one network round trip each on PostgreSQL.
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
    errors += check_lead_account(
        body,
        as_of,
        skew=timedelta(seconds=ctx.settings.clock_skew_seconds),
        max_events=ctx.settings.max_events_per_lead,
    )
    if errors:
        return _invalid(errors, ctx.request_id)
    out = _champion_scored(ctx, [body], [as_of], now)
    ctx.metrics.observe_scores([out[0]["quadrant"]])
    return _json_response(out[0], _in_shadow(ctx, [body], [as_of], now.isoformat()))


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


def _validated_items(
    raw: list[Any], item_errors: dict[int, list[FieldError]]
) -> list[ScoreIn | None]:
    """Each item as a `ScoreIn`, or None with its errors in `item_errors`.

    The whole list in one call when every item is valid (the usual batch: one call instead of
    10,000); item by item once one is not, so each bad item is reported on its own.
    """
    try:
        return list(_ITEMS.validate_python(raw))
    except ValidationError:
        pass
    out: list[ScoreIn | None] = []
    for index, item in enumerate(raw):
        try:
            out.append(_ITEM.validate_python(item))
        except ValidationError as exc:
            loc = ("body", "items", index)
            item_errors[index] = [
                FieldError((*loc, *e["loc"]), e["msg"], e["type"]) for e in exc.errors()
            ]
            out.append(None)
    return out


def _score_batch(body: BatchScoreIn, ctx: ScoreContext) -> Response:
    champion, settings, request_id = ctx.champion, ctx.settings, ctx.request_id
    now = utc_now()
    skew = timedelta(seconds=settings.clock_skew_seconds)
    item_errors: dict[int, list[FieldError]] = {}
    valid: list[tuple[int, ScoreIn, datetime]] = []
    seen: dict[str, int] = {}
    kinds = champion.extra_kinds
    for index, item in enumerate(_validated_items(body.items, item_errors)):
        if item is None:
            continue
        loc: tuple[str | int, ...] = ("body", "items", index)
        as_of, errors = check_item(
            item,
            now=now,
            skew=skew,
            max_events=settings.max_events_per_lead,
            default_as_of=body.as_of,
            loc=loc,
        )
        errors += check_extras(item.extras, kinds, version=champion.version, loc=loc)
        errors += check_lead_account(
            item, as_of, skew=skew, max_events=settings.max_events_per_lead, loc=loc
        )
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
    shadow = None
    if valid:
        out = _champion_scored(ctx, [v[1] for v in valid], [v[2] for v in valid], now)
        scored = {v[0]: answer for v, answer in zip(valid, out, strict=True)}
        ctx.metrics.observe_scores([a["quadrant"] for a in out], failed_items=len(item_errors))
        shadow = _in_shadow(
            ctx, [v[1] for v in valid], [v[2] for v in valid], now.astimezone(UTC).isoformat()
        )
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
        },
        shadow,
    )
