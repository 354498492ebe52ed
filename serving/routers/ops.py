"""Operations: liveness, readiness, Prometheus metrics.

These are open (no API key) so orchestrators and scrapers need no secret; they expose
no lead data, only the serving version and aggregate counts.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from serving.deps import HolderDep, MetricsDep
from serving.metrics import CONTENT_TYPE
from serving.schemas import HealthOut, ReadyOut
from serving.workers import Readiness, WorkerBoard

router = APIRouter(tags=["ops"])


@router.get("/healthz", response_model=HealthOut)
async def healthz() -> HealthOut:
    """The process is up (it may still have no champion: see `/readyz`)."""
    return HealthOut(status="ok")


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
async def readyz(request: Request, holder: HolderDep) -> JSONResponse:
    """200 once every worker has a signed-off champion loaded; 503 with the reason until then."""
    board: WorkerBoard | None = request.app.state.board
    if board is not None:
        state = board.readiness()
    else:
        champion = holder.current
        state = Readiness(
            champion is not None,
            champion.version if champion else None,
            None if champion else holder.reason,
        )
    body = ReadyOut(ready=state.ready, model_version=state.version, reason=state.reason)
    return JSONResponse(body.model_dump(), status_code=200 if state.ready else 503)


@router.get("/metrics", response_class=Response)
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus text format, summed over every worker."""
    return Response(metrics.render(), media_type=CONTENT_TYPE)
