"""Register a trained run as a new candidate model version, bound to its model and policy."""

from __future__ import annotations

import hashlib
from pathlib import Path

from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts
from mlflow.entities.model_registry import ModelVersion

CANDIDATE = "candidate"


def artifact_digest(model_uri: str, run_id: str) -> str:
    """sha256 over the bytes of the model files and the run's policy, in a stable order.

    Sign-offs store this digest, so a decision can be shown to be about exactly
    this model and these thresholds.
    """
    digest = hashlib.sha256()
    for local in (
        Path(download_artifacts(artifact_uri=model_uri)),
        Path(download_artifacts(run_id=run_id, artifact_path="policy.json")),
    ):
        files = sorted(p for p in local.rglob("*") if p.is_file()) if local.is_dir() else [local]
        for file in files:
            rel = file.relative_to(local.parent).as_posix()
            digest.update(rel.encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


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
        "handoff.status": CANDIDATE,
        "handoff.review": "awaiting marketing and BDR sign-off",
        "handoff.run_id": run_id,
        "handoff.binding": artifact_digest(model_uri, run_id),
        **tags,
    }
    for key, value in all_tags.items():
        client.set_model_version_tag(name, version.version, key, value)
    return client.get_model_version(name, version.version)
