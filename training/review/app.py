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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from models.mlflow_layout import ACKNOWLEDGEMENTS, TEAMS
from models.mlflow_setup import disable_telemetry
from models.wording import duration
from training.audit import append_refusal
from training.promote import PromotionRefused, configured_gates, promote_version
from training.review.pages import METRIC_LABELS, ReviewData, signoff_table
from training.review.sessions import COOKIE, LoginThrottle, Session, SessionStore, same_token
from training.review.settings import ReviewSettings
from training.review.users import User, check_password, load_users
from training.review.web import (
    HERE,
    REPORT_POLICY,
    FormError,
    client_address,
    proxied_user,
    read_form,
    same_origin,
    security_headers,
    templates,
    with_cookie,
)
from training.signoff import SignoffError, record_signoff
from training.versions import UnknownVersion

logger = logging.getLogger("handoff.review_app")

MAX_COMMENT_CHARS = 1000
VERSION = re.compile(r"^[0-9]{1,9}$")
DECISIONS = {"approve": True, "reject": False}


class ReviewConfigError(RuntimeError):
    """The review app cannot start as configured (no users, unreadable users file)."""


@dataclass
class Visit:
    """Who is asking: their session (every visitor has one) and user, once signed in."""

    session: Session
    user: User | None
    cookie: str | None = None  # a new session's cookie, to send with the answer


class Review:
    """The app's state (reviewers, sessions, throttle, reads) and what every route does
    with a request: identify the visitor, check a form, answer with a page or a redirect."""

    def __init__(self, settings: ReviewSettings, users: dict[str, User]) -> None:
        self.settings = settings
        self.users = users
        self.data = ReviewData(settings)
        self.sessions = SessionStore(max_age_seconds=settings.review_session_minutes * 60)
        self.throttle = LoginThrottle(
            max_failures=settings.review_max_failed_logins,
            window_seconds=settings.review_lockout_minutes * 60.0,
        )
        self.templates = templates()

    def identify(self, request: Request) -> Visit:
        """The visit's session (new if none) and user; a trusted proxy's header names them."""
        session = self.sessions.find(request.cookies.get(COOKIE))
        proxied = proxied_user(request, self.settings)
        if proxied is not None:
            if session is not None and session.username == proxied:
                return Visit(session, self.users.get(proxied))
            if session is not None:
                self.sessions.end(session)
            session, cookie = self.sessions.start(proxied)
            return Visit(session, self.users.get(proxied), cookie)
        if session is None:
            session, cookie = self.sessions.start()
            return Visit(session, None, cookie)
        return Visit(session, self.users.get(session.username) if session.username else None)

    def render(
        self, visit: Visit, template: str, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        html = self.templates.get_template(template).render(
            user=visit.user,
            csrf=visit.session.csrf,
            notice=visit.session.take_notice(),
            proxied=self.settings.review_trusted_user_header is not None,
            **context,
        )
        return with_cookie(HTMLResponse(html, status_code=status), visit.cookie, self.settings)

    def refuse(self, visit: Visit, status: int, title: str, message: str) -> HTMLResponse:
        return self.render(visit, "message.html.j2", status=status, title=title, message=message)

    def go(self, visit: Visit, url: str, notice: str | None = None) -> Response:
        if notice:
            visit.session.notice = notice
        return with_cookie(RedirectResponse(url, status_code=303), visit.cookie, self.settings)

    def stranger(self, visit: Visit, request: Request) -> Response:
        """A visitor who is not a reviewer: to the sign-in page, or refused behind a proxy."""
        if proxied_user(request, self.settings) is not None:
            return self.refuse(
                visit, 403, "Not a reviewer", "Your account is not in Handoff's list of reviewers."
            )
        return self.go(visit, "/login")

    async def checked_form(self, request: Request, visit: Visit) -> dict[str, str] | HTMLResponse:
        """The posted form, or the refusal for a bad body or a missing or stale CSRF token."""
        try:
            form = await read_form(request)
        except FormError as error:
            return self.refuse(visit, 400, "This form could not be read", str(error))
        if not same_token(form.get("csrf"), visit.session) or not same_origin(request):
            logger.warning(
                "refused a %s %s without this session's CSRF token",
                request.method,
                request.url.path,
            )
            return self.refuse(
                visit,
                403,
                "This form has expired",
                "The form did not carry this session's security token (it is stale, or it "
                "came from another site). Nothing was changed: reload the page and try again.",
            )
        return form

    def no_version(self, visit: Visit, version: str) -> HTMLResponse | None:
        if VERSION.match(version):
            return None
        return self.refuse(visit, 404, "No such version", f"{version!r} is not a version number.")

    def for_reviewer(
        self, request: Request, version: str, answer: Callable[[Visit], Response]
    ) -> Response:
        """`answer(visit)` for a signed-in reviewer asking about an existing version; the
        sign-in page, or a 404 naming the version, otherwise (every reading route's start)."""
        visit = self.identify(request)
        if visit.user is None:
            return self.stranger(visit, request)
        if (refused := self.no_version(visit, version)) is not None:
            return refused
        try:
            return answer(visit)
        except UnknownVersion as missing:
            return self.refuse(visit, 404, "No such version", str(missing))

    def version_page(
        self, visit: Visit, version: str, *, status: int = 200, error: list[str] | None = None
    ) -> HTMLResponse:
        try:
            page = self.data.page(version)
        except UnknownVersion as missing:
            return self.refuse(visit, 404, "No such version", str(missing))
        return self.render(
            visit,
            "version.html.j2",
            status=status,
            page=page,
            signoffs=signoff_table(page.info),
            error=error,
            model=self.settings.model_name,
        )


def create_review_app(settings: ReviewSettings, users: dict[str, User] | None = None) -> FastAPI:
    """The review app over `settings`' model store; `users` default to the users file."""
    disable_telemetry()
    review = Review(settings, users if users is not None else _users(settings))
    app = FastAPI(title="Handoff review", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.middleware("http")(security_headers)
    _account_routes(app, review)
    _reading_routes(app, review)
    _decision_routes(app, review)
    return app


def _users(settings: ReviewSettings) -> dict[str, User]:
    if settings.review_users_file is None:
        raise ReviewConfigError(
            "no reviewers: set HANDOFF_REVIEW_USERS_FILE to a users file "
            "(`handoff review-user` prints an entry for one)"
        )
    try:
        return load_users(settings.review_users_file)
    except ValueError as error:
        raise ReviewConfigError(str(error)) from None


def _account_routes(app: FastAPI, review: Review) -> None:
    """Sign in (throttled, logged without the password) and sign out."""

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> Response:
        visit = review.identify(request)
        if visit.user is not None:
            return review.go(visit, "/")
        return review.render(visit, "login.html.j2", error=None)

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        visit = review.identify(request)
        form = await review.checked_form(request, visit)
        if isinstance(form, HTMLResponse):
            return form
        username = form.get("username", "").strip().lower()
        client = client_address(request)
        # A name that is not a reviewer's may be a password typed in the wrong box: not logged.
        who = repr(username) if username in review.users else "an unknown user name"
        wait = review.throttle.wait_seconds(username, client)
        if wait > 0:
            logger.warning("sign-in for %s from %s refused: too many failures", who, client)
            error = (
                "Too many failed sign-ins for this user or from this address; "
                f"try again in {duration(wait / 60)}."
            )
            return review.render(visit, "login.html.j2", status=429, error=error)
        password = form.get("password", "")
        user = await run_in_threadpool(check_password, review.users, username, password)
        if user is None:
            count = review.throttle.failed(username, client)
            minutes = review.settings.review_lockout_minutes
            logger.warning(
                "failed sign-in for %s from %s (%d in the last %d minutes)",
                who,
                client,
                count,
                minutes,
            )
            error = "Wrong user name or password."
            return review.render(visit, "login.html.j2", status=401, error=error)
        review.throttle.succeeded(username)
        review.sessions.end(visit.session)  # a fresh id on sign-in: a planted one is useless
        session, cookie = review.sessions.start(user.username)
        logger.info("%s signed in from %s", user.username, client)
        return review.go(Visit(session, user, cookie), "/")

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        visit = review.identify(request)
        form = await review.checked_form(request, visit)
        if isinstance(form, HTMLResponse):
            return form
        review.sessions.end(visit.session)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response


def _reading_routes(app: FastAPI, review: Review) -> None:
    """The versions list, a version, its report, and the side-by-side with the champion."""

    @app.get("/", response_class=HTMLResponse)
    def versions(request: Request) -> Response:
        visit = review.identify(request)
        if visit.user is None:
            return review.stranger(visit, request)
        rows = review.data.rows()
        model = review.settings.model_name
        return review.render(visit, "versions.html.j2", rows=rows, teams=TEAMS, model=model)

    @app.get("/versions/{version}", response_class=HTMLResponse)
    def version(request: Request, version: str) -> Response:
        return review.for_reviewer(request, version, lambda v: review.version_page(v, version))

    @app.get("/versions/{version}/report", response_class=HTMLResponse)
    def report(request: Request, version: str) -> Response:
        def answer(visit: Visit) -> Response:
            html = review.data.report(version)
            response = with_cookie(HTMLResponse(html), visit.cookie, review.settings)
            response.headers["Content-Security-Policy"] = REPORT_POLICY
            return response

        return review.for_reviewer(request, version, answer)

    @app.get("/versions/{version}/compare", response_class=HTMLResponse)
    def compare(request: Request, version: str) -> Response:
        def answer(visit: Visit) -> Response:
            comparison = review.data.comparison(version)
            return review.render(
                visit,
                "compare.html.j2",
                version=version,
                comparison=comparison,
                labels=METRIC_LABELS,
            )

        return review.for_reviewer(request, version, answer)


def _decision_routes(app: FastAPI, review: Review) -> None:
    """A reviewer's decision for their team, and an admin's promotion."""

    @app.post("/versions/{version}/decision", response_class=HTMLResponse)
    async def decide(request: Request, version: str) -> Response:
        visit = review.identify(request)
        form = await review.checked_form(request, visit)
        if isinstance(form, HTMLResponse):
            return form
        user = visit.user
        if user is None:
            return review.stranger(visit, request)
        if (refused := review.no_version(visit, version)) is not None:
            return refused
        problem = _decision_problem(form, user)
        if problem is not None:
            status, message = problem
            logger.warning(
                "decision on version %s by %s refused: %s", version, user.username, message
            )
            if status == 403:
                await run_in_threadpool(
                    _record_refusal, review.settings, version, user, form, message
                )
            return await run_in_threadpool(
                review.version_page, visit, version, status=status, error=[message]
            )
        try:
            said = await run_in_threadpool(_sign, review.settings, version, user, form)
        except (SignoffError, UnknownVersion) as refused_signoff:
            return await run_in_threadpool(
                review.version_page, visit, version, status=409, error=[str(refused_signoff)]
            )
        logger.info("%s recorded %s's decision on version %s", user.username, user.team, version)
        return review.go(visit, f"/versions/{version}", said)

    @app.post("/versions/{version}/promote", response_class=HTMLResponse)
    async def promote(request: Request, version: str) -> Response:
        visit = review.identify(request)
        form = await review.checked_form(request, visit)
        if isinstance(form, HTMLResponse):
            return form
        user = visit.user
        if user is None:
            return review.stranger(visit, request)
        if (refused := review.no_version(visit, version)) is not None:
            return refused
        if not user.is_admin:
            message = "Your account may review and sign, not promote."
            return review.refuse(visit, 403, "Only an admin promotes", message)
        try:
            said = await run_in_threadpool(_promote, review.settings, version, user)
        except PromotionRefused as refusal:
            reasons = refusal.reasons or [str(refusal)]
            return await run_in_threadpool(
                review.version_page, visit, version, status=409, error=reasons
            )
        logger.info("%s promoted version %s", user.username, version)
        return review.go(visit, f"/versions/{version}", said)


def _sign(settings: ReviewSettings, version: str, user: User, form: dict[str, str]) -> str:
    """The CLI's own sign-off, as the signed-in user, for their team, on the binding shown."""
    assert user.team is not None  # `_decision_problem` refused a user without one
    return record_signoff(
        version,
        team=user.team,
        by=user.signer,
        approve=DECISIONS[form["decision"]],
        comment=form.get("comment", "").strip(),
        acknowledge=tuple(w for w in ACKNOWLEDGEMENTS if form.get(f"acknowledge_{w}") == "yes"),
        settings=settings,
        expected_binding=form.get("binding", ""),
    )


def _promote(settings: ReviewSettings, version: str, user: User) -> str:
    """The CLI's own promotion: the configured gates, the governance lock, the audit log."""
    return promote_version(version, settings=settings, by=user.signer, **configured_gates(settings))


def _record_refusal(
    settings: ReviewSettings, version: str, user: User, form: dict[str, str], message: str
) -> None:
    append_refusal(
        settings,
        version=version,
        by=user.signer,
        binding=None,
        refused=f"sign-off for {form.get('team', '')!r} on the review page",
        reasons=[message],
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
        return 403, f"team: {user.signer} signs for {user.team} only, not for {team or 'no team'}"
    if len(form.get("comment", "")) > MAX_COMMENT_CHARS:
        return 400, f"comment: at most {MAX_COMMENT_CHARS} characters"
    return None


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
