"""The one typed settings object, read from HANDOFF_* environment variables.

Lives in `models/` because both `training/` and `serving/` need it and neither may
import the other. Reading settings does no I/O: directories are made by
`models.mlflow_setup.configure_mlflow`, when a command actually needs them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


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

    @property
    def resolved_tracking_uri(self) -> str:
        if self.tracking_uri:
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
