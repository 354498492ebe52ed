"""Register a trained run as a new candidate model version, bound to its model and policy."""

from __future__ import annotations

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from models.mlflow_layout import (
    BINDING_TAG,
    CANDIDATE,
    REVIEW_TAG,
    RUN_ID_TAG,
    STATUS_TAG,
    TEAMS,
    artifact_digest,
)


def register_candidate(
    client: MlflowClient,
    *,
    name: str,
    run_id: str,
    model_uri: str,
    tags: dict[str, str],
    description: str,
) -> ModelVersion:
    """A new version of `name` from the run's logged model, tagged as a candidate awaiting review.

    It never touches the `champion` alias: promotion is a separate, signed-off step.
    """
    try:
        client.get_registered_model(name)
    except Exception:
        client.create_registered_model(
            name, description="Handoff lead scorer: fit, interest and combined win probability."
        )
    version = client.create_model_version(
        name=name,
        source=model_uri,
        run_id=run_id,
        description=description,
    )
    all_tags = {
        STATUS_TAG: CANDIDATE,
        REVIEW_TAG: f"awaiting {' and '.join(TEAMS)} sign-off",
        RUN_ID_TAG: run_id,
        BINDING_TAG: artifact_digest(model_uri, run_id),
        **tags,
    }
    for key, value in all_tags.items():
        client.set_model_version_tag(name, version.version, key, value)
    return client.get_model_version(name, version.version)
