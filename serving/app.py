"""The scoring API: `create_app(settings)` and `run(host, port)` for `handoff serve`."""

from __future__ import annotations

import logging
import logging.config
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.mlflow_setup import disable_telemetry
from models.settings import load_settings
from serving.access_log import log_config
from serving.account_scoring import account_holder
from serving.champion import ChampionHolder
from serving.docs import add_offline_docs
from serving.feature_counts import FEATURE_COUNTS, FeatureCounter
from serving.feedback import FEEDBACK, FeedbackLog
from serving.http_limits import BoundedHttpToolsProtocol
from serving.metrics import MULTIPROCESS_ENV, Metrics
from serving.middleware import ServingMiddleware
from serving.monitor.store import MONITOR_SUMMARIES
from serving.openapi import live_openapi
from serving.routers import accounts, feedback, model, monitor, ops, score
from serving.score_log import SCORE_LOG, ScoreLog, rename_win_columns
from serving.security import API_KEY_HEADER, DEV_API_KEY, KeyChecker, ServingConfigError
from serving.settings import ServingSettings
from serving.shadow import SHADOW_LOG, Shadow
from serving.store import Store, StoreError, StoreUnavailable, Table
from serving.tail import quiet_collector
from serving.workers import WorkerBoard

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


def _warn_dev_mode(settings: ServingSettings) -> None:
    if settings.dev_mode:
        logger.warning(
            "DEV MODE: %s: %s is accepted. This key is public: use it for local "
            "development only, never where real leads arrive.",
            API_KEY_HEADER,
            DEV_API_KEY,
        )


async def _not_recorded(request: Request, exc: Exception) -> JSONResponse:
    """What the serving database could not commit (a score, feedback) is not answered: the
    client may retry (feedback retries are idempotent on their event ids)."""
    what = "feedback" if request.url.path.startswith("/v1/feedback") else "answer"
    return JSONResponse(
        {
            "detail": f"the serving database could not record this {what}, so it is not "
            "acknowledged; retry",
            "request_id": _request_id(request),
        },
        status_code=503,
        headers={"Retry-After": "1"},
    )


# Every table of the serving database (created at start-up by each process that opens it).
SERVING_TABLES: tuple[Table, ...] = (
    SCORE_LOG,
    SHADOW_LOG,
    FEEDBACK,
    MONITOR_SUMMARIES,
    FEATURE_COUNTS,
)


def serving_store(
    settings: ServingSettings, on_commit: Callable[[Table, int], None] | None = None
) -> Store:
    """The serving database with every table serving writes."""
    return Store(
        settings.resolved_database_url,
        SERVING_TABLES,
        migrations=[rename_win_columns],
        on_commit=on_commit,
    )


def create_app(settings: ServingSettings | None = None) -> FastAPI:
    """The app, its champion follower and score log (started and stopped with the app).

    Raises `ServingConfigError` when it would start without any API key outside dev mode.
    """
    disable_telemetry()
    settings = settings or load_settings(ServingSettings)
    keys = KeyChecker.from_settings(settings)
    state_dir = settings.worker_state_dir
    metrics = Metrics(state_dir / "metrics" if state_dir else None)
    board = WorkerBoard(state_dir / "workers", workers(settings)) if state_dir else None
    store = serving_store(
        settings,
        on_commit=lambda table, rows: (
            metrics.observe_committed(rows) if table is SCORE_LOG else None
        ),
    )
    score_log = ScoreLog(store, timeout_seconds=settings.score_log_timeout_seconds)
    feedback_log = FeedbackLog(store, timeout_seconds=settings.score_log_timeout_seconds)
    shadow = Shadow(settings, store) if settings.shadow_challenger else None
    feature_counts = FeatureCounter(
        store,
        flush_seconds=settings.feature_counts_flush_seconds,
        flush_leads=settings.feature_counts_flush_leads,
        timeout_seconds=settings.score_log_timeout_seconds,
    )
    holder = ChampionHolder(
        settings,
        listeners=(
            lambda version, _: metrics.set_model(version),
            lambda *_: quiet_collector(),  # the champion is loaded: freeze what lives on
            *([board.publish] if board else []),
        ),
    )
    accounts_holder = account_holder(settings)  # optional: leads are served without one

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state_dir is None:  # several workers: their supervisor says it, once
            _warn_dev_mode(settings)
        store.start()
        feature_counts.start()
        holder.start()
        accounts_holder.start()
        if shadow is not None:
            shadow.start()
        try:
            yield
        finally:
            if shadow is not None:
                shadow.stop()
            accounts_holder.stop()
            holder.stop()
            feature_counts.stop()  # the last counts, before the store closes
            store.close()
            if board is not None:
                board.withdraw()
            metrics.process_exited()

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
    app.state.account_holder = accounts_holder
    app.state.board = board
    app.state.store = store
    app.state.score_log = score_log
    app.state.feedback = feedback_log
    app.state.shadow = shadow
    app.state.feature_counts = feature_counts
    app.state.metrics = metrics
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(StoreUnavailable, _not_recorded)
    app.include_router(score.router)
    app.include_router(accounts.router)
    app.include_router(model.router)
    app.include_router(feedback.router)
    app.include_router(monitor.router)
    app.include_router(ops.router)
    app.add_middleware(ServingMiddleware, max_body_bytes=settings.max_body_bytes, metrics=metrics)
    app.openapi = live_openapi(app)  # type: ignore[method-assign]  # the champion's extras
    return app


def workers(settings: ServingSettings) -> int:
    """Serving processes: the setting, or one per core."""
    return settings.workers or os.cpu_count() or 1


def server_options(settings: ServingSettings) -> dict[str, Any]:
    """The uvicorn options Handoff is served with.

    Plain values and importable classes only, so the same options also configure each
    process of `uvicorn.run(..., workers=N)` (uvicorn pickles them to its workers).
    """
    return {
        "http": BoundedHttpToolsProtocol,
        "loop": settings.event_loop,
        "access_log": settings.access_log,
        "log_config": log_config(),
        "timeout_graceful_shutdown": 30,
        # A worker answers the supervisor's pings from a thread that starts only once the
        # options are unpickled; on two busy cores that alone can take longer than uvicorn's
        # 5 s, and a worker taken for hung is killed and restarted forever.
        "timeout_worker_healthcheck": 60,
    }


def run(
    settings: ServingSettings,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    app_factory: str = "serving.app:create_app",
) -> None:
    """`handoff serve`: refuse clearly on a bad configuration, otherwise serve until stopped.

    One worker serves in this process. Several are separate processes (uvicorn's
    supervisor, one listening socket) that each build the app from the same environment
    and follow the champion on their own; this process gives them one state directory for
    readiness and metrics (`worker_state_dir`, `PROMETHEUS_MULTIPROC_DIR`), removed on exit.
    `app_factory` (an import string, so workers can import it) lets the load benchmark
    serve its variants the same way.
    """
    import uvicorn
    from uvicorn.importer import import_from_string

    factory = import_from_string(app_factory)
    try:
        app = factory(settings)  # every worker would refuse the same way: refuse once
        reachable = serving_store(settings)
        reachable.start()  # the tables exist, or a clear line now rather than N crashed workers
        reachable.close()
    except (ServingConfigError, StoreError) as exc:
        raise SystemExit(f"handoff serve: {exc}") from None
    n = workers(settings)
    if n == 1:
        uvicorn.run(app, host=host, port=port, **server_options(settings))
        return
    logging.config.dictConfig(log_config())
    _warn_dev_mode(settings)
    state_dir = Path(tempfile.mkdtemp(prefix="handoff-serve-"))
    (state_dir / "metrics").mkdir()
    os.environ.update(
        {
            "HANDOFF_WORKERS": str(n),
            "HANDOFF_WORKER_STATE_DIR": str(state_dir),
            MULTIPROCESS_ENV: str(state_dir / "metrics"),
        }
    )
    try:
        uvicorn.run(
            app_factory,
            factory=True,
            workers=n,
            host=host,
            port=port,
            **server_options(settings),
        )
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
