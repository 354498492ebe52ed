"""`GET /v1/monitor/summary`: the latest summary `handoff monitor` stored (JSON, for alerting)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from serving.deps import ApiKey
from serving.monitor.store import latest_summary
from serving.routers.errors import UNAUTHORISED
from serving.schemas import ErrorOut

router = APIRouter(prefix="/v1/monitor", tags=["monitor"], dependencies=[ApiKey])


@router.get(
    "/summary",
    responses={
        401: UNAUTHORISED,
        404: {"model": ErrorOut, "description": "No summary yet: run `handoff monitor`."},
    },
)
async def monitor_summary(request: Request) -> dict[str, Any]:
    """Read in a thread on its own connection: the scoring loop never waits on it."""
    url = request.app.state.store.url_text
    summary = await asyncio.to_thread(latest_summary, url)
    if summary is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail="no monitor summary yet: run `handoff monitor`"
        )
    return summary
