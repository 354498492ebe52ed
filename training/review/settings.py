"""The review app's settings, on top of the shared `Settings` (same `HANDOFF_` prefix).

Who may sign in comes from a users file (`HANDOFF_REVIEW_USERS_FILE`); a trusted reverse
proxy may name the user in a header instead (`HANDOFF_REVIEW_TRUSTED_USER_HEADER`), honoured
only from the proxy's own addresses. Sessions live in the process and are signed with a key
made when it starts, so there is no session secret to configure or leak (a restart signs
everyone out).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from models.settings import Settings


class ReviewSettings(Settings):
    """Who may review, how long a session lasts, how sign-in is protected."""

    review_users_file: Path | None = None
    review_session_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)
    review_cookie_secure: bool = True  # browsers treat http://localhost as secure too
    review_trusted_user_header: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]+$")
    review_trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"]
    )
    review_max_failed_logins: int = Field(default=5, ge=1)
    review_lockout_minutes: int = Field(default=15, ge=1)

    @field_validator("review_trusted_proxies", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        """A comma-separated list of client addresses, as people write it in a variable."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
