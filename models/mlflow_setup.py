"""Point MLflow at Handoff's store, with telemetry off, before any MLflow call."""

from __future__ import annotations

import os
from pathlib import Path

from models.settings import Settings


def disable_telemetry() -> None:
    """Handoff runs offline: MLflow must not try to phone home."""
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def configure_mlflow(settings: Settings) -> str:
    """Create the home folder, set the tracking URI and experiment; return the experiment id."""
    disable_telemetry()
    import mlflow

    Path(settings.home).mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.resolved_tracking_uri)
    mlflow.set_registry_uri(settings.resolved_tracking_uri)
    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name(settings.experiment_name)
    if experiment is None:
        experiment_id = client.create_experiment(
            settings.experiment_name, artifact_location=settings.resolved_artifact_location
        )
    else:
        experiment_id = experiment.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return str(experiment_id)
