"""Serving-only settings, on top of the shared `Settings` (same `HANDOFF_` prefix).

API keys are configured as sha256 hashes so the process never holds the keys themselves
in configuration; outside dev mode the service refuses to start without any.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from models.settings import Settings

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class ServingSettings(Settings):
    """What the scoring API needs beyond the model store: keys, limits, the score log."""

    api_key_hashes: Annotated[list[str], NoDecode] = Field(default_factory=list)
    dev_mode: bool = False
    score_log_path: Path | None = None
    max_batch: int = Field(default=10_000, ge=1)
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    reload_interval_seconds: float = Field(default=5.0, gt=0)
    max_events_per_lead: int = Field(default=1_000, ge=1)
    clock_skew_seconds: float = Field(default=300.0, ge=0)
    access_log: bool = True

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

    @property
    def resolved_score_log_path(self) -> Path:
        """Default beside the MLflow store, in the Handoff home."""
        return self.score_log_path or (self.home / "score_log.sqlite")
