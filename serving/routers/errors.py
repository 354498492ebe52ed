"""The error answers every JSON-body endpoint can give, documented once so that each
router's OpenAPI entry (which schemathesis and clients read) names the same statuses."""

from __future__ import annotations

from typing import Any

from serving.schemas import ErrorOut

UNREADABLE = {"model": ErrorOut, "description": "Unreadable body (e.g. not UTF-8 JSON)."}
UNAUTHORISED = {"model": ErrorOut, "description": "Missing or invalid API key."}
TOO_LARGE = {"model": ErrorOut, "description": "Request body too large."}


def body_errors(invalid: str, unavailable: str) -> dict[int | str, dict[str, Any]]:
    """The statuses of an endpoint reading a JSON body: what 422 and 503 mean is the
    endpoint's own; 400, 401 and 413 come from the body reader and the API key."""
    return {
        400: UNREADABLE,
        401: UNAUTHORISED,
        413: TOO_LARGE,
        422: {"model": ErrorOut, "description": invalid},
        503: {"model": ErrorOut, "description": unavailable},
    }
