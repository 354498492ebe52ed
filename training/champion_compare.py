"""The candidate beside the serving champion: on the candidate's own test leads when the
champion can be scored there, else by its own logged numbers, and always saying when the two
were trained on different sources.

`compare_with_champion` scores the champion; `champion_difference` turns that into the
verdict's AUC comparison with its interval (`training.verdict`); `run_verdict` reads a run's
verdict. Promotion (the gates), the report and training (`champion_verdict`) read these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models import mlflow_layout as layout
from models.baselines import BASELINE_NAMES
from models.mlflow_layout import CHAMPION, run_id_of
from models.settings import Settings
from training.evaluate import binary_metrics, gate_baselines
from training.verdict import Comparison, Verdict, against_champion, verdict_for
from training.versions import alias_version, get_version

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion


@dataclass
class ChampionComparison:
    """The champion's numbers next to the candidate's, and how they were obtained."""

    champion_version: str
    metrics: dict[str, float] = field(default_factory=dict)
    same_window: bool = False
    note: str = ""
    # win probability per lead_id on the candidate's test window, when scored there
    probabilities: pd.Series | None = None
    # fit, interest and combined probabilities per lead_id there (for the quadrants it makes)
    parts: pd.DataFrame | None = None
    # says so when the champion was trained on another source than the candidate
    source_note: str = ""

    @property
    def roc_auc(self) -> float | None:
        value = self.metrics.get("roc_auc")
        return None if value is None or not np.isfinite(value) else float(value)


def _download_json(run_id: str, path: str) -> Any:
    from mlflow.artifacts import download_artifacts

    return json.loads(Path(download_artifacts(run_id=run_id, artifact_path=path)).read_text())


def _scorer_of(python_model: Any) -> Any:
    """The fitted LeadScorer inside a HandoffModel (whatever the attribute is called)."""
    for name in ("scorer", "scorer_", "_scorer", "model"):
        candidate = getattr(python_model, name, None)
        if candidate is not None and hasattr(candidate, "predict_parts"):
            return candidate
    raise AttributeError(f"{type(python_model).__name__} exposes no scorer with predict_parts")


def load_test_features(run_id: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A run's test-window feature frame (index lead_id) and its labels."""
    from mlflow.artifacts import download_artifacts

    path = download_artifacts(run_id=run_id, artifact_path=layout.TEST_FEATURES_FILE)
    frame = pd.read_parquet(path)
    if "lead_id" in frame.columns:
        frame = frame.set_index("lead_id")
    y = frame.pop("label").to_numpy(dtype=int)
    return frame, y


def _source(run_id: str) -> str:
    """The source a run was trained on, as its summary names it ("" when unrecorded)."""
    try:
        return str(_download_json(run_id, layout.SUMMARY_FILE).get("source") or "")
    except Exception:  # an older or damaged run: nothing to say about its source
        return ""


def compare_with_champion(
    client: MlflowClient, settings: Settings, candidate: ModelVersion, champion: ModelVersion
) -> ChampionComparison:
    """The champion's metrics on the candidate's test window when it can be scored there.

    Scoring needs the same feature sets (same columns, same meaning); otherwise the
    champion's own logged test metrics are used, and the note says so. A champion trained
    on another source than the candidate is named as such in the note, whichever way.
    """
    out = ChampionComparison(champion_version=str(champion.version))
    theirs, ours = _source(run_id_of(champion)), _source(run_id_of(candidate))
    if theirs != ours:
        unknown = "an unrecorded source"
        out.source_note = (
            f"champion version {champion.version} was trained on {theirs or unknown}, "
            f"this version on {ours or unknown}"
        )
    _score_champion(client, settings, candidate, champion, out)
    if out.source_note:
        out.note = f"{out.note}; {out.source_note}"
    return out


def _score_champion(
    client: MlflowClient,
    settings: Settings,
    candidate: ModelVersion,
    champion: ModelVersion,
    out: ChampionComparison,
) -> None:
    reason = ""
    try:
        same = _download_json(run_id_of(candidate), layout.FEATURE_SETS_FILE) == _download_json(
            run_id_of(champion), layout.FEATURE_SETS_FILE
        )
        if same:
            import mlflow

            X, y = load_test_features(run_id_of(candidate))
            loaded = mlflow.pyfunc.load_model(f"models:/{settings.model_name}/{champion.version}")
            scorer = _scorer_of(loaded.unwrap_python_model())
            parts = scorer.predict_parts(X)
            p = parts["combined_probability"].to_numpy(dtype=float)
            out.metrics = binary_metrics(y, p)
            out.probabilities = pd.Series(p, index=X.index.astype(str), name="champion")
            out.parts = parts.set_axis(X.index.astype(str))
            out.same_window = True
            out.note = (
                f"champion version {champion.version} scored on version {candidate.version}'s "
                f"test window ({len(y):,} leads)"
            )
            return
        reason = "its feature sets differ from the candidate's"
    except Exception as error:  # fall back, but say why
        reason = f"it could not be scored on the candidate's test window ({error})"
    logged = client.get_run(run_id_of(champion)).data.metrics
    out.metrics = {
        key[len("test_combined_") :]: float(value)
        for key, value in logged.items()
        if key.startswith("test_combined_")
    }
    out.note = (
        f"champion version {champion.version}'s own logged test metrics (its own, older test "
        f"window), because {reason}"
    )


def _test_scores(run_id: str) -> pd.DataFrame:
    from mlflow.artifacts import download_artifacts

    frame = pd.read_parquet(
        download_artifacts(run_id=run_id, artifact_path=layout.TEST_SCORES_FILE)
    )
    frame["lead_id"] = frame["lead_id"].astype(str)
    return frame.set_index("lead_id")


def run_verdict(run_id: str) -> Verdict:
    """The verdict a run logged; for a run from before verdicts, computed from its test
    scores the same way training computes it."""
    try:
        return Verdict.from_dict(_download_json(run_id, layout.VERDICT_FILE))
    except Exception:  # no verdict logged: compute it from what the run did log
        import mlflow

        scores = _test_scores(run_id)
        family = mlflow.get_run(run_id).data.params.get(layout.family_param("combined"))
        baselines = {c: scores[c].to_numpy() for c in scores.columns if c in BASELINE_NAMES}
        return verdict_for(
            scores["label"].to_numpy(dtype=int),
            scores["combined_probability"].to_numpy(dtype=float),
            gate_baselines(baselines, family),
        )


def champion_difference(
    candidate_run_id: str, champion_run_id: str, comparison: ChampionComparison
) -> Comparison | None:
    """The candidate's AUC against the champion's, with an interval: paired on the
    candidate's test leads when the champion was scored there, else against the
    champion's own logged AUC interval (another window, said so)."""
    scores = _test_scores(candidate_run_id)
    y = scores["label"].to_numpy(dtype=int)
    p = scores["combined_probability"].to_numpy(dtype=float)
    if comparison.probabilities is not None:
        theirs = comparison.probabilities.reindex(scores.index).to_numpy(dtype=float)
        if np.isfinite(theirs).all():
            return against_champion(
                y, p, comparison.champion_version, champion_p=theirs, note=comparison.note
            )
    try:
        their_auc = run_verdict(champion_run_id).auc
    except Exception:  # a champion with neither a verdict nor test scores: no interval
        return None
    return against_champion(
        y, p, comparison.champion_version, champion_auc=their_auc, note=comparison.note
    )


def champion_verdict(
    client: MlflowClient, settings: Settings, candidate: ModelVersion
) -> Comparison | None:
    """Training's look at the serving champion of this model name, if there is one: the
    candidate against it on the candidate's test window. Never fails a training run."""
    champion = alias_version(client, settings, CHAMPION)
    if champion is None or champion == str(candidate.version):
        return None
    try:
        champ_mv = get_version(client, settings, champion)
        comparison = compare_with_champion(client, settings, candidate, champ_mv)
        return champion_difference(run_id_of(candidate), run_id_of(champ_mv), comparison)
    except Exception:  # the champion is unreadable: promotion will say so, with its reason
        return None
