"""Handoff served with one design choice reversed, for `bench_load.py`'s side-by-side runs.

`BENCH_VARIANT` (read in each worker) names what is reversed:

- `eventloop`: `/v1/score` as an `async def` route, scored on the event loop and awaiting
  its commit (the alternative to `handoff serve`'s thread pool);
- `eventloop-direct`: the same route committing its row itself on the event loop (no
  thread at all on a request's path; the loop waits for each commit);
- `no-freeze`: the garbage collector is not frozen after start-up (`serving.tail`);
- `switch-0.5ms`: the interpreter's thread switch interval at 0.5 ms instead of 5 ms;
- `no-feature-counts`: served features are not counted into the drift profile's bins
  (`serving.feature_counts`), for `bench_feature_counts.py`.

Everything else is `handoff serve`'s own code: this module only swaps a route or a call
before `serving.app.create_app` builds the app. Run with `python serve_variant.py PORT`
(settings from the environment, as `handoff serve` reads them).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


from datetime import timedelta  # noqa: E402

from fastapi import APIRouter, Response  # noqa: E402

# Module level: FastAPI resolves the route's (string) annotations in this module's globals.
from serving.deps import ApiKey, ScoreContextDep  # noqa: E402
from serving.routers import score  # noqa: E402
from serving.schemas import BatchScoreOut, ScoreIn, ScoreOut  # noqa: E402
from serving.score_log import rows_from_answers  # noqa: E402
from serving.scoring import check_extras, check_item, utc_now  # noqa: E402


def _score_on_event_loop(direct: bool = False) -> None:
    async def score_one(body: ScoreIn, ctx: ScoreContextDep) -> Response:
        now = utc_now()
        as_of, errors = check_item(
            body,
            now=now,
            skew=timedelta(seconds=ctx.settings.clock_skew_seconds),
            max_events=ctx.settings.max_events_per_lead,
        )
        errors += check_extras(body.extras, ctx.champion.extra_kinds, version=ctx.champion.version)
        if errors:
            return score._invalid(errors, ctx.request_id)
        out = score._score(ctx.champion, [body], [as_of], ctx.request_id)
        rows = rows_from_answers(out, now.isoformat())
        if direct:
            ctx.score_log.record_blocking(rows)  # the loop waits for the commit itself
        else:
            await ctx.score_log.record(rows)
        ctx.metrics.observe_scores([out[0]["quadrant"]])
        return score._json_response(out[0])

    # A router like serving.routers.score's, with this route; create_app includes
    # `score.router`, looked up when it builds the app.
    router = APIRouter(prefix="/v1/score", tags=["score"], dependencies=[ApiKey])
    router.add_api_route(
        "", score_one, methods=["POST"], response_model=ScoreOut, responses=score._ERRORS
    )
    router.add_api_route(
        "/batch",
        score.score_batch,
        methods=["POST"],
        response_model=BatchScoreOut,
        responses=score._ERRORS,
    )
    score.router = router


def create_app(settings: Any = None) -> Any:
    import serving.app

    variant = os.environ.get("BENCH_VARIANT", "")
    if variant == "eventloop":
        _score_on_event_loop()
    elif variant == "eventloop-direct":
        _score_on_event_loop(direct=True)
    elif variant == "switch-0.5ms":
        sys.setswitchinterval(0.0005)
    elif variant == "no-freeze":
        serving.app.quiet_collector = lambda: None  # type: ignore[assignment]
    elif variant not in ("", "no-feature-counts"):
        raise SystemExit(f"unknown BENCH_VARIANT {variant!r}")
    app = serving.app.create_app(settings)
    if variant == "no-feature-counts":
        app.state.feature_counts = None  # the routes read it per request: nothing counted
    return app


if __name__ == "__main__":
    from models.settings import load_settings
    from serving.app import run
    from serving.settings import ServingSettings

    run(
        load_settings(ServingSettings),
        port=int(sys.argv[1]),
        app_factory="serve_variant:create_app",
    )
