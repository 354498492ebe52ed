"""`handoff review`: the page where marketing and BDR leaders review, sign off and promote.

Why a separate app on the training side rather than a `/review` part of the scoring
service: signing off and promoting are `training.signoff.record_signoff` and
`training.promote.promote_version` (the CLI's own functions, same gates, same lock, same
record), and `serving` may never import `training`. It also keeps reviewers' sessions and
forms away from the scoring API's keys and traffic.

Server-rendered Jinja pages and one stylesheet, all served by this app: no JavaScript, no
CDN. Every state-changing form carries the session's CSRF token; a reviewer signs for their
own team only, as themselves, and only the binding they reviewed.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool

from models.mlflow_layout import TEAMS
from models.mlflow_setup import disable_telemetry
from models.wording import duration
from training.audit import append_refusal
from training.promote import PromotionRefused, configured_gates, promote_version
from training.review.pages import METRIC_LABELS, ReviewData, signoff_table
from training.review.sessions import COOKIE, LoginThrottle, Session, SessionStore, same_token
from training.review.settings import ReviewSettings
from training.review.users import User, check_password, load_users
from training.signoff import SignoffError, record_signoff
from training.versions import UnknownVersion

logger = logging.getLogger("handoff.review")
R = TypeVar("R", bound=Response)

HERE = Path(__file__).resolve().parent
MAX_FORM_BYTES = 16 * 1024
MAX_COMMENT_CHARS = 1000
VERSION = re.compile(r"^[0-9]{1,9}$")
DECISIONS = {"approve": True, "reject": False}
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# The report is one self-contained file: inline styles, plots as data: images, no scripts.
REPORT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class ReviewConfigError(RuntimeError):
    """The review app cannot start as configured (no users, unreadable users file)."""


@dataclass
class Visit:
    """Who is asking: their session (every visitor has one) and user, once signed in."""

    session: Session
    user: User | None
    cookie: str | None = None  # a new session's cookie, to send with the answer


class FormError(ValueError):
    """The body is not a form this app reads."""


def create_review_app(settings: ReviewSettings, users: dict[str, User] | None = None) -> FastAPI:
    """The review app over `settings`' model store; `users` default to the users file."""
    disable_telemetry()
    if users is None:
        if settings.review_users_file is None:
            raise ReviewConfigError(
                "no reviewers: set HANDOFF_REVIEW_USERS_FILE to a users file "
                "(`handoff review-user` prints an entry for one)"
            )
        try:
            users = load_users(settings.review_users_file)
        except ValueError as error:
            raise ReviewConfigError(str(error)) from None
    known: dict[str, User] = users
    data = ReviewData(settings)
    sessions = SessionStore(max_age_seconds=settings.review_session_minutes * 60)
    throttle = LoginThrottle(
        max_failures=settings.review_max_failed_logins,
        window_seconds=settings.review_lockout_minutes * 60.0,
    )
    templates = _templates()

    app = FastAPI(title="Handoff review", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.state.sessions = sessions

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def identify(request: Request) -> Visit:
        """The visit's session (new if none) and user; a trusted proxy's header names them."""
        session = sessions.find(request.cookies.get(COOKIE))
        proxied = _proxied_user(request, settings)
        if proxied is not None:
            if session is None or session.username != proxied:
                if session is not None:
                    sessions.end(session)
                session, cookie = sessions.start(proxied)
                return Visit(session, known.get(proxied), cookie)
            return Visit(session, known.get(proxied))
        if session is None:
            session, cookie = sessions.start()
            return Visit(session, None, cookie)
        user = known.get(session.username) if session.username else None
        return Visit(session, user)

    def render(visit: Visit, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        html = templates.get_template(template).render(
            user=visit.user,
            csrf=visit.session.csrf,
            notice=visit.session.take_notice(),
            proxied=settings.review_trusted_user_header is not None,
            **context,
        )
        return _with_cookie(HTMLResponse(html, status_code=status), visit, settings)

    def refuse(visit: Visit, status: int, title: str, message: str) -> HTMLResponse:
        return render(visit, "message.html.j2", status=status, title=title, message=message)

    def go(visit: Visit, url: str, notice: str | None = None) -> Response:
        if notice:
            visit.session.notice = notice
        return _with_cookie(RedirectResponse(url, status_code=303), visit, settings)

    async def checked_form(request: Request, visit: Visit) -> dict[str, str] | HTMLResponse:
        """The posted form, or the refusal for a bad body or a missing or stale CSRF token."""
        try:
            form = await _read_form(request)
        except FormError as error:
            return refuse(visit, 400, "This form could not be read", str(error))
        if not same_token(form.get("csrf"), visit.session) or not _same_origin(request):
            logger.warning(
                "refused a %s %s without this session's CSRF token",
                request.method,
                request.url.path,
            )
            return refuse(
                visit,
                403,
                "This form has expired",
                "The form did not carry this session's security token (it is stale, or it "
                "came from another site). Nothing was changed: reload the page and try again.",
            )
        return form

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> Response:
        visit = identify(request)
        if visit.user is not None:
            return go(visit, "/")
        return render(visit, "login.html.j2", error=None)

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        visit = identify(request)
        form = await checked_form(request, visit)
        if isinstance(form, HTMLResponse):
            return form
        username = form.get("username", "").strip().lower()
        client = _client(request)
        who = repr(username) if username in known else "an unknown user name"
        wait = throttle.wait_seconds(username, client)
        if wait > 0:
            logger.warning("sign-in for %s from %s refused: too many failures", who, client)
            return render(
                visit,
                "login.html.j2",
                status=429,
                error="Too many failed sign-ins for this user or from this address; "
                f"try again in {duration(wait / 60)}.",
            )
        user = await run_in_threadpool(check_password, known, username, form.get("password", ""))
        if user is None:
            count = throttle.failed(username, client)
            logger.warning(
                "failed sign-in for %s from %s (%d in the last %d minutes)",
                who,
                client,
                count,
                settings.review_lockout_minutes,
            )
            return render(visit, "login.html.j2", status=401, error="Wrong user name or password.")
        throttle.succeeded(username)
        sessions.end(visit.session)  # a fresh id on sign-in: a planted one cannot be reused
        session, cookie = sessions.start(user.username)
        logger.info("%s signed in from %s", user.username, client)
        return go(Visit(session, user, cookie), "/")

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        visit = identify(request)
        form = await checked_form(request, visit)
        if isinstance(form, HTMLResponse):
            return form
        sessions.end(visit.session)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/", response_class=HTMLResponse)
    def versions(request: Request) -> Response:
        visit = identify(request)
        if visit.user is None:
            return _unknown(visit, request, settings, go, refuse)
        return render(
            visit, "versions.html.j2", rows=data.rows(), teams=TEAMS, model=settings.model_name
        )

    @app.get("/versions/{version}", response_class=HTMLResponse)
    def version_page(request: Request, version: str) -> Response:
        visit = identify(request)
        if visit.user is None:
            return _unknown(visit, request, settings, go, refuse)
        return show_version(visit, version)

    def show_version(
        visit: Visit, version: str, *, status: int = 200, error: list[str] | None = None
    ) -> HTMLResponse:
        if not VERSION.match(version):
            return refuse(visit, 404, "No such version", f"{version!r} is not a version number.")
        try:
            page = data.page(version)
        except UnknownVersion as missing:
            return refuse(visit, 404, "No such version", str(missing))
        return render(
            visit,
            "version.html.j2",
            status=status,
            page=page,
            signoffs=signoff_table(page.info),
            error=error,
            model=settings.model_name,
        )

    @app.get("/versions/{version}/report", response_class=HTMLResponse)
    def report(request: Request, version: str) -> Response:
        visit = identify(request)
        if visit.user is None:
            return _unknown(visit, request, settings, go, refuse)
        if not VERSION.match(version):
            return refuse(visit, 404, "No such version", f"{version!r} is not a version number.")
        try:
            html = data.report(version)
        except UnknownVersion as missing:
            return refuse(visit, 404, "No such version", str(missing))
        response = _with_cookie(HTMLResponse(html), visit, settings)
        response.headers["Content-Security-Policy"] = REPORT_POLICY
        return response

    @app.get("/versions/{version}/compare", response_class=HTMLResponse)
    def compare(request: Request, version: str) -> Response:
        visit = identify(request)
        if visit.user is None:
            return _unknown(visit, request, settings, go, refuse)
        if not VERSION.match(version):
            return refuse(visit, 404, "No such version", f"{version!r} is not a version number.")
        try:
            comparison = data.comparison(version)
        except UnknownVersion as missing:
            return refuse(visit, 404, "No such version", str(missing))
        return render(
            visit, "compare.html.j2", version=version, comparison=comparison, labels=METRIC_LABELS
        )

    @app.post("/versions/{version}/decision", response_class=HTMLResponse)
    async def decide(request: Request, version: str) -> Response:
        visit = identify(request)
        form = await checked_form(request, visit)
        if isinstance(form, HTMLResponse):
            return form
        user = visit.user
        if user is None:
            return _unknown(visit, request, settings, go, refuse)
        problem = _decision_problem(form, user)
        if problem is not None:
            status, message = problem
            logger.warning(
                "sign-off on version %s by %s refused: %s", version, user.username, message
            )
            if status == 403:
                await run_in_threadpool(
                    append_refusal,
                    settings,
                    version=version,
                    by=user.signer,
                    binding=None,
                    refused=f"sign-off for {form.get('team', '')!r} on the review page",
                    reasons=[message],
                )
            return await run_in_threadpool(
                show_version, visit, version, status=status, error=[message]
            )
        try:
            said = await run_in_threadpool(_sign, settings, version, user, form)
        except (SignoffError, UnknownVersion) as refused:
            return await run_in_threadpool(
                show_version, visit, version, status=409, error=[str(refused)]
            )
        logger.info("%s recorded a %s decision on version %s", user.username, user.team, version)
        return go(visit, f"/versions/{version}", said)

    @app.post("/versions/{version}/promote", response_class=HTMLResponse)
    async def promote(request: Request, version: str) -> Response:
        visit = identify(request)
        form = await checked_form(request, visit)
        if isinstance(form, HTMLResponse):
            return form
        user = visit.user
        if user is None:
            return _unknown(visit, request, settings, go, refuse)
        if not user.is_admin:
            return refuse(
                visit,
                403,
                "Only an admin promotes",
                "Your account may review and sign, not promote.",
            )
        try:
            said = await run_in_threadpool(
                lambda: promote_version(
                    version, settings=settings, by=user.signer, **configured_gates(settings)
                )
            )
        except PromotionRefused as refused:
            return await run_in_threadpool(
                show_version, visit, version, status=409, error=refused.reasons or [str(refused)]
            )
        except UnknownVersion as missing:
            return refuse(visit, 404, "No such version", str(missing))
        logger.info("%s promoted version %s", user.username, version)
        return go(visit, f"/versions/{version}", said)

    return app


def _sign(settings: ReviewSettings, version: str, user: User, form: dict[str, str]) -> str:
    """The CLI's own sign-off, as the signed-in user, for their team, on the binding shown."""
    assert user.team is not None  # `_decision_problem` refused a user without one
    return record_signoff(
        version,
        team=user.team,
        by=user.signer,
        approve=DECISIONS[form["decision"]],
        comment=form.get("comment", "").strip(),
        settings=settings,
        expected_binding=form.get("binding", ""),
    )


def _decision_problem(form: dict[str, str], user: User) -> tuple[int, str] | None:
    """Why this form may not be recorded for this user (status, reason), or None."""
    if form.get("decision") not in DECISIONS:
        return 400, "decision: must be approve or reject"
    if "by" in form:
        return 403, "by: the page signs as the signed-in reviewer, never as someone else"
    if user.team is None:
        return 403, f"{user.username} signs for no team (an admin without a team promotes only)"
    team = form.get("team", "")
    if team != user.team:
        return 403, (f"team: {user.signer} signs for {user.team} only, not for {team or 'no team'}")
    if len(form.get("comment", "")) > MAX_COMMENT_CHARS:
        return 400, f"comment: at most {MAX_COMMENT_CHARS} characters"
    return None


def _unknown(
    visit: Visit,
    request: Request,
    settings: ReviewSettings,
    go: Callable[..., Response],
    refuse: Callable[..., HTMLResponse],
) -> Response:
    """A visitor who is not a reviewer: to the sign-in page, or refused behind a proxy."""
    if _proxied_user(request, settings) is not None:
        return refuse(
            visit, 403, "Not a reviewer", "Your account is not in Handoff's list of reviewers."
        )
    return go(visit, "/login")


def _proxied_user(request: Request, settings: ReviewSettings) -> str | None:
    """The user a trusted proxy names in its header; None when not configured or not the proxy."""
    header = settings.review_trusted_user_header
    if header is None or _client(request) not in settings.review_trusted_proxies:
        return None
    value = request.headers.get(header, "").strip().lower()
    return value or None


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _same_origin(request: Request) -> bool:
    """A browser's Origin header, when sent, must name this host (a second CSRF guard)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def _read_form(request: Request) -> dict[str, str]:
    """A small url-encoded form (the only kind these pages post), first value per field."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise FormError("the pages post url-encoded forms only")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormError(f"the form is larger than {MAX_FORM_BYTES // 1024} KiB")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=20
        )
    except (UnicodeDecodeError, ValueError):
        raise FormError("the form is not UTF-8 url-encoded text with at most 20 fields") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


def _with_cookie(response: R, visit: Visit, settings: ReviewSettings) -> R:
    if visit.cookie is not None:
        response.set_cookie(
            COOKIE,
            visit.cookie,
            max_age=settings.review_session_minutes * 60,
            httponly=True,
            secure=settings.review_cookie_secure,
            samesite="lax",  # sent on a link followed from an email; never on another site's POST
            path="/",
        )
    return response


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda v, spec=".4f": "-" if v is None or v != v else format(v, spec)
    env.filters["ts"] = lambda v: str(v)[:19].replace("T", " ") if v else "-"
    env.filters["short"] = lambda v: (v or "")[:12]
    return env


def log_config() -> dict[str, Any]:
    """uvicorn's logging plus Handoff's review logger (sign-ins, refusals, decisions)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["handoff"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def run_review(settings: ReviewSettings, host: str = "127.0.0.1", port: int = 8100) -> None:
    """`handoff review`: serve the review pages until stopped."""
    import uvicorn

    try:
        app = create_review_app(settings)
    except ReviewConfigError as error:
        raise SystemExit(f"handoff review: {error}") from None
    uvicorn.run(app, host=host, port=port, log_config=log_config())
