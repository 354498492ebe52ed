"""Operations: liveness, readiness, Prometheus metrics.

These are open (no API key) so orchestrators and scrapers need no secret; they expose
no lead data, only the serving version and aggregate counts.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from serving.deps import HolderDep, MetricsDep, ScoreLogDep
from serving.schemas import HealthOut, ReadyOut

router = APIRouter(tags=["ops"])


@router.get("/healthz", response_model=HealthOut)
async def healthz() -> HealthOut:
    """The process is up (it may still have no champion: see `/readyz`)."""
    return HealthOut(status="ok")


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
async def readyz(holder: HolderDep) -> JSONResponse:
    """200 once a signed-off champion is loaded; 503 with the reason until then."""
    champion = holder.current
    if champion is None:
        return JSONResponse(
            ReadyOut(ready=False, reason=holder.reason).model_dump(), status_code=503
        )
    return JSONResponse(ReadyOut(ready=True, model_version=champion.version).model_dump())


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(
    holder: HolderDep, metrics: MetricsDep, score_log: ScoreLogDep
) -> PlainTextResponse:
    """Prometheus text format."""
    champion = holder.current
    text = metrics.render(
        model_version=champion.version if champion else None, score_log_rows=score_log.written
    )
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")
