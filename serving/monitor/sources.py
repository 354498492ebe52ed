"""Where the monitor's inputs come from: the serving database and each version's run.

What a version promised is read from its training run, by the names `models.mlflow_layout`
gives them: the per-quadrant test win rates (`quadrant_metric`), the policy's tier and
speed-to-lead target per quadrant (`POLICY_FILE`), the test window's scores
(`TEST_SCORES_FILE`, the reference the served scores' PSI is measured against) and the
training rows' feature bins (`FEATURE_PROFILE_FILE`, the reference of the served features,
whose counts serving flushes to `FEATURE_COUNTS`).
"""

from __future__ import annotations

import json
import posixpath
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from data_contracts.feedback import outcome_rows
from data_contracts.vocab import QUADRANTS
from models import mlflow_layout as layout
from models.drift import FeatureProfile
from models.mlflow_setup import configure_mlflow
from models.policy import QuadrantPolicy
from models.settings import Settings
from serving.feature_counts import read_counts
from serving.feedback import read_feedback
from serving.monitor.summary import COUNT_COLUMNS, SCORE_COLUMNS, VersionProfile
from serving.score_log import read_rows
from serving.shadow import read_shadow_rows


def summed_counts(url: str) -> pd.DataFrame:
    """The served feature counts of every worker, summed (`COUNT_COLUMNS`)."""
    rows = pd.DataFrame(read_counts(url))
    if rows.empty:
        return pd.DataFrame(columns=list(COUNT_COLUMNS))
    keys = [c for c in COUNT_COLUMNS if c != "n"]
    summed = pd.DataFrame(rows.groupby(keys, as_index=False)["n"].sum())
    return summed[list(COUNT_COLUMNS)]


def served_and_outcomes(url: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The score log, the feedback (as the `outcomes` contract) and the challenger's shadow
    log of a serving database."""
    served = pd.DataFrame(read_rows(url))
    if served.empty:
        served = pd.DataFrame(
            columns=["request_id", "lead_id", "model_version", "quadrant", "scored_at"]
        )
    return served, outcome_rows(read_feedback(url)), pd.DataFrame(read_shadow_rows(url))


def version_profile(client: Any, model_name: str, version: str, workdir: Path) -> VersionProfile:
    """What `version`'s run logged: promised win rates, targets, test-window scores."""
    from mlflow.artifacts import download_artifacts

    run_id = client.get_model_version(model_name, version).run_id
    metrics = client.get_run(run_id).data.metrics
    promised = {
        q: float(metrics[name])
        for q in QUADRANTS
        if (name := layout.quadrant_metric(q, "win_rate")) in metrics
    }
    where = workdir / f"v{version}"

    def artifact(path: str) -> Path:
        return Path(download_artifacts(run_id=run_id, artifact_path=path, dst_path=str(where)))

    policy = QuadrantPolicy.load(artifact(layout.POLICY_FILE))
    targets = {q: (a.tier, a.speed_to_lead_minutes) for q, a in policy.actions.items()}
    scores = pd.read_parquet(artifact(layout.TEST_SCORES_FILE))
    return VersionProfile(
        version,
        promised,
        targets,
        scores[[c for c in SCORE_COLUMNS if c in scores.columns]],
        _feature_profile(client, run_id, artifact),
    )


def _feature_profile(
    client: Any, run_id: str, artifact: Callable[[str], Path]
) -> FeatureProfile | None:
    """The run's feature bins, or None for a run logged before they were."""
    folder, _ = posixpath.split(layout.FEATURE_PROFILE_FILE)
    logged = {f.path for f in client.list_artifacts(run_id, folder)}
    if layout.FEATURE_PROFILE_FILE not in logged:
        return None
    path = artifact(layout.FEATURE_PROFILE_FILE)
    return FeatureProfile.from_dict(json.loads(path.read_text()))


def version_profiles(settings: Settings, versions: list[str]) -> dict[str, VersionProfile]:
    """Profiles of every version the score log names (from the MLflow store configured)."""
    if not versions:
        return {}
    configure_mlflow(settings)
    from mlflow import MlflowClient

    client = MlflowClient()
    with tempfile.TemporaryDirectory(prefix="handoff-monitor-") as tmp:
        return {v: version_profile(client, settings.model_name, v, Path(tmp)) for v in versions}
