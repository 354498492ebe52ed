"""`/v1/accounts/score`: an account (or its contacts only) scored by the account champion."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Request, status
from fastapi.responses import JSONResponse

from serving.account_scoring import (
    Context,
    account_answer,
    account_model,
    check_context,
    score_contexts,
)
from serving.champion import Champion, ChampionHolder
from serving.deps import ApiKey
from serving.routers.errors import body_errors
from serving.schemas import AccountScoreIn, AccountScoreOut
from serving.scoring import FieldError, utc_now
from serving.settings import ServingSettings

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], dependencies=[ApiKey])

_ERRORS = body_errors(
    invalid="Invalid input; `loc` names the field.",
    unavailable="No signed-off account champion is serving.",
)


def _account_champion(request: Request) -> Champion:
    holder: ChampionHolder = request.app.state.account_holder
    champion = holder.current
    if champion is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=holder.reason)
    return champion


@router.post("/score", response_model=AccountScoreOut, responses=_ERRORS)
def score_account(body: Annotated[AccountScoreIn, Body()], request: Request) -> JSONResponse:
    """Score one account with its contacts and their events (or contacts only): fit,
    interest and combined scores, quadrant and action, reasons, and the buying group: the
    engaged contacts, the roles covered and the roles still missing, so the BDR knows whom
    to reach next."""
    champion = _account_champion(request)
    settings: ServingSettings = request.app.state.settings
    request_id = str(request.state.request_id)
    now = utc_now()
    skew = timedelta(seconds=settings.clock_skew_seconds)
    as_of = body.as_of or now
    account_id, errors = check_context(
        body, as_of=as_of, skew=skew, max_events=settings.max_events_per_lead
    )
    if body.as_of is not None and body.as_of > now + skew:
        errors.insert(0, _future(body.as_of))
    if errors or account_id is None:
        return JSONResponse(
            {"detail": [e.as_dict() for e in errors], "request_id": request_id}, status_code=422
        )
    ctx = Context(account_id, body.account, list(body.contacts), as_of)
    row = score_contexts(account_model(champion), [ctx]).iloc[0]
    return JSONResponse(account_answer(row, ctx, champion, request_id))


def _future(as_of: datetime) -> FieldError:
    return FieldError(("body", "as_of"), f"as_of is in the future ({as_of.isoformat()})", "future")
