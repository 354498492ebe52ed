"""The scoring API: `create_app(settings)` and `run(host, port)` for `handoff serve`."""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.mlflow_setup import disable_telemetry
from models.settings import load_settings
from serving.champion import ChampionHolder
from serving.docs import add_offline_docs
from serving.http_limits import BoundedHttpToolsProtocol
from serving.metrics import Metrics
from serving.middleware import ServingMiddleware
from serving.openapi import live_openapi
from serving.routers import model, ops, score
from serving.score_log import ScoreLog
from serving.security import API_KEY_HEADER, DEV_API_KEY, KeyChecker, ServingConfigError
from serving.settings import ServingSettings

logger = logging.getLogger("handoff.serving")

DESCRIPTION = """
Marketing automation calls Handoff when a lead arrives or acts and routes on the answer:
fit, interest and combined scores, the quadrant, its action, tier and speed-to-lead target,
and reason codes. Only the champion both marketing and BDR signed off is served.

Scoring and model endpoints need an `X-API-Key` header; `/healthz`, `/readyz` and
`/metrics` are open and expose no lead data.
"""


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 naming each field and problem (without echoing the submitted values)."""
    assert isinstance(exc, RequestValidationError)
    detail = [
        {
            "loc": list(e.get("loc", ())),
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    return JSONResponse({"detail": detail, "request_id": _request_id(request)}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        {"detail": exc.detail, "request_id": _request_id(request)},
        status_code=exc.status_code,
        headers=exc.headers,
    )


def create_app(settings: ServingSettings | None = None) -> FastAPI:
    """The app, its champion follower and score log (started and stopped with the app).

    Raises `ServingConfigError` when it would start without any API key outside dev mode.
    """
    disable_telemetry()
    settings = settings or load_settings(ServingSettings)
    keys = KeyChecker.from_settings(settings)
    holder = ChampionHolder(settings)
    score_log = ScoreLog(settings.resolved_score_log_path)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.dev_mode:
            logger.warning(
                "DEV MODE: %s: %s is accepted. This key is public: use it for local "
                "development only, never where real leads arrive.",
                API_KEY_HEADER,
                DEV_API_KEY,
            )
        score_log.start()
        holder.start()
        try:
            yield
        finally:
            holder.stop()
            score_log.close()
            logger.info("score log flushed (%d rows written)", score_log.written)

    app = FastAPI(
        title="Handoff lead scoring",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from local assets below: they work offline
        redoc_url=None,
    )
    add_offline_docs(app)
    app.state.settings = settings
    app.state.keys = keys
    app.state.holder = holder
    app.state.score_log = score_log
    app.state.metrics = metrics
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(score.router)
    app.include_router(model.router)
    app.include_router(ops.router)
    app.add_middleware(ServingMiddleware, max_body_bytes=settings.max_body_bytes, metrics=metrics)
    app.openapi = live_openapi(app)  # type: ignore[method-assign]  # the champion's extras
    return app


class PathOnlyAccessLog(logging.Filter):
    """Drops the query string from uvicorn's access-log records: clients put keys in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            # (client, method, target, http version, status); uvicorn quotes the path, so a
            # literal "?" in the target can only start the query string.
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging plus Handoff's logger; the access log prints method, path, status only."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"path_only": {"()": PathOnlyAccessLog}}
    config["loggers"]["uvicorn.access"]["filters"] = ["path_only"]
    config["loggers"]["handoff"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def server_options(settings: ServingSettings) -> dict[str, Any]:
    """The uvicorn options Handoff is served with.

    Plain values and importable classes only, so the same options also configure each
    process of `uvicorn.run(..., workers=N)` (uvicorn pickles them to its workers).
    """
    return {
        "http": BoundedHttpToolsProtocol,
        "access_log": settings.access_log,
        "log_config": log_config(),
        "timeout_graceful_shutdown": 30,
    }


def run(settings: ServingSettings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """`handoff serve`: refuse clearly on a bad configuration, otherwise serve until stopped."""
    import uvicorn

    try:
        app = create_app(settings)
    except ServingConfigError as exc:
        raise SystemExit(f"handoff serve: {exc}") from None
    uvicorn.run(app, host=host, port=port, **server_options(settings))
