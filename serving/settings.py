"""Serving-only settings, on top of the shared `Settings` (same `HANDOFF_` prefix).

API keys are configured as sha256 hashes so the process never holds the keys themselves
in configuration; outside dev mode the service refuses to start without any.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from models.settings import Settings

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class ServingSettings(Settings):
    """What the scoring API needs beyond the model store: keys, limits, the serving
    database (score log), worker processes."""

    api_key_hashes: Annotated[list[str], NoDecode] = Field(default_factory=list)
    dev_mode: bool = False
    # The serving database (score log; later feedback): `sqlite:///PATH` or `postgresql://...`.
    database_url: str | None = None
    # Shorthand for database_url=sqlite:///PATH, as older configurations say it.
    score_log_path: Path | None = None
    # How long a request waits for its score-log commit before it is refused with 503.
    score_log_timeout_seconds: float = Field(default=10.0, gt=0)
    max_batch: int = Field(default=10_000, ge=1)
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    reload_interval_seconds: float = Field(default=5.0, gt=0)
    max_events_per_lead: int = Field(default=1_000, ge=1)
    clock_skew_seconds: float = Field(default=300.0, ge=0)
    access_log: bool = True
    # Serving processes; `handoff serve --workers` overrides; None: one per core.
    workers: int | None = Field(default=None, ge=1)
    event_loop: Literal["asyncio", "uvloop"] = "asyncio"
    # Also score every request with the `challenger` alias's version, in the shadow.
    shadow_challenger: bool = True
    # Each worker's counts of served features (the drift profile's bins) reach the serving
    # database this often, after this many leads, and at shutdown (`serving.feature_counts`).
    feature_counts_flush_seconds: float = Field(default=30.0, gt=0)
    feature_counts_flush_leads: int = Field(default=10_000, ge=1)
    # Set by `handoff serve` for its workers: where they publish their state and metrics.
    worker_state_dir: Path | None = None

    @field_validator("api_key_hashes", mode="before")
    @classmethod
    def _parse_hashes(cls, value: Any) -> Any:
        """Accept a JSON list or a comma-separated string (the two ways people write env vars)."""
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return []
            if text.startswith("["):
                try:
                    return json.loads(text)
                except json.JSONDecodeError as exc:
                    # Only the position: the message must never carry the text itself.
                    raise ValueError(
                        f"not a valid JSON list (error at character {exc.pos})"
                    ) from None
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("api_key_hashes")
    @classmethod
    def _check_hashes(cls, value: list[str]) -> list[str]:
        """A typo'd hash would silently lock everyone out: reject anything but sha256 hex."""
        cleaned = [h.strip().lower() for h in value]
        for h in cleaned:
            if not _SHA256_HEX.match(h):
                raise ValueError(
                    "each entry must be the sha256 hex digest of a key (64 hex characters), "
                    "not the key itself: "
                    "`python -c \"import hashlib;print(hashlib.sha256(b'KEY').hexdigest())\"`"
                )
        return cleaned

    @model_validator(mode="after")
    def _one_database(self) -> ServingSettings:
        if self.database_url and self.score_log_path:
            raise ValueError(
                "set HANDOFF_DATABASE_URL or HANDOFF_SCORE_LOG_PATH (its SQLite shorthand), "
                "not both"
            )
        return self

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        """A mistyped URL stops start-up, never the first score."""
        if value:
            from serving.store import StoreError, parse_url

            try:
                parse_url(value)
            except StoreError as exc:
                raise ValueError(str(exc)) from None
        return value

    @property
    def resolved_database_url(self) -> str:
        """Default: a SQLite file beside the MLflow store, in the Handoff home."""
        if self.database_url:
            return self.database_url
        path = self.score_log_path or (self.home / "serving.sqlite")
        return f"sqlite:///{path}"
