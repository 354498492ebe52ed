"""The HTTP pieces of the review app: forms, origins, cookies, headers, templates.

Kept apart from the routes so each stays short; nothing here knows about versions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl, urlsplit

from fastapi import Request
from fastapi.responses import Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from training.report import TEMPLATES as REPORT_TEMPLATES
from training.review.sessions import COOKIE
from training.review.settings import ReviewSettings

HERE = Path(__file__).resolve().parent
MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 20
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# The report is one self-contained file: inline styles, plots as data: images, no scripts.
REPORT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

R = TypeVar("R", bound=Response)


class FormError(ValueError):
    """The body is not a form this app reads."""


async def read_form(request: Request) -> dict[str, str]:
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
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise FormError(
            f"the form is not UTF-8 url-encoded text with at most {MAX_FORM_FIELDS} fields"
        ) from None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


def same_origin(request: Request) -> bool:
    """A browser's Origin header, when sent, must name this host (a second CSRF guard)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def proxied_user(request: Request, settings: ReviewSettings) -> str | None:
    """The user a trusted proxy names in its header; None when not configured, or when the
    request does not come from one of the proxy's addresses."""
    header = settings.review_trusted_user_header
    if header is None or client_address(request) not in settings.review_trusted_proxies:
        return None
    value = request.headers.get(header, "").strip().lower()
    return value or None


def with_cookie(response: R, cookie: str | None, settings: ReviewSettings) -> R:
    """`response`, carrying a new session's cookie when there is one."""
    if cookie is not None:
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=settings.review_session_minutes * 60,
            httponly=True,
            secure=settings.review_cookie_secure,
            samesite="lax",  # sent on a link followed from an email; never on another site's POST
            path="/",
        )
    return response


async def security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Every answer: no scripts or off-site loads, no framing, no caching of pages."""
    response = await call_next(request)
    response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if not request.url.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader([str(HERE / "templates"), str(REPORT_TEMPLATES)]),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda v, spec=".4f": "-" if v is None or v != v else format(v, spec)
    env.filters["ts"] = lambda v: str(v)[:19].replace("T", " ") if v else "-"
    env.filters["short"] = lambda v: (v or "")[:12]
    return env
