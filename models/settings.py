"""The one typed settings object, read from HANDOFF_* environment variables.

Lives in `models/` because both `training/` and `serving/` need it and neither may
import the other. Reading settings does no I/O: directories are made by
`models.mlflow_setup.configure_mlflow`, when a command actually needs them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from features.feature_sets import DEFAULT_CURRENCY


class Settings(BaseSettings):
    """Where Handoff keeps its state and which registered model it works on."""

    model_config = SettingsConfigDict(env_prefix="HANDOFF_", extra="ignore")

    home: Path = Path(".handoff")
    tracking_uri: str | None = None
    artifact_location: str | None = None
    model_name: str = "handoff-lead-scorer"
    experiment_name: str = "handoff"
    # Automatic promotion gates (beside both teams' sign-off, which cannot be skipped).
    promotion_auc_tolerance: float = 0.01
    promotion_max_ece: float = 0.03
    promotion_baseline_margin: float = 0.0
    # The currency the CRM's `annual_revenue` is recorded in (ISO 4217): training records it
    # in the feature sets, and reason codes say revenue in it ("USD 1.8M").
    currency: str = DEFAULT_CURRENCY

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError("must be a three-letter ISO 4217 code in capitals, such as USD")
        return value

    @property
    def resolved_tracking_uri(self) -> str:
        """The MLflow store (SQLAlchemy URL). A plain `postgresql://` URL, as libpq and the
        serving database write it, is read with psycopg 3 (Handoff's PostgreSQL driver)."""
        if self.tracking_uri:
            scheme, sep, rest = self.tracking_uri.partition("://")
            if sep and scheme in ("postgresql", "postgres"):
                return f"postgresql+psycopg://{rest}"
            return self.tracking_uri
        return f"sqlite:///{self.home.resolve() / 'mlflow.db'}"

    @property
    def resolved_artifact_location(self) -> str:
        if self.artifact_location:
            return self.artifact_location
        return (self.home.resolve() / "artifacts").as_uri()

    @property
    def audit_log_path(self) -> Path:
        return self.home / "audit.jsonl"


class SettingsError(ValueError):
    """The environment holds settings Handoff cannot use: one line per problem."""


SettingsT = TypeVar("SettingsT", bound=Settings)


def load_settings(cls: type[SettingsT]) -> SettingsT:
    """`cls()` from the environment, or a `SettingsError` naming each bad variable.

    Why not pydantic's own error: it prints every submitted value, and a plaintext API key
    pasted where its hash belongs must reach neither a terminal nor a log. The messages
    kept are pydantic's (which never quote the input) and our validators' own texts.
    """
    try:
        return cls()
    except ValidationError as exc:
        problems = [_problem(cls, error["loc"], error["msg"]) for error in exc.errors()]
        raise SettingsError("\n".join(problems)) from None


def _problem(cls: type[Settings], loc: tuple[int | str, ...], msg: str) -> str:
    prefix = str(cls.model_config.get("env_prefix", ""))
    name = f"{prefix}{loc[0]}".upper() if loc else f"the {prefix}* settings together"
    where = "".join(f", item {part}" for part in loc[1:])
    return f"{name}{where} is invalid: {msg.removeprefix('Value error, ')} (value not shown)"
