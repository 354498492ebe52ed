"""Write one training run to MLflow and register its model as a candidate version.

Everything a reviewer, the gates and serving later read is written here, under the names
`models.mlflow_layout` gives them; nothing here fits or evaluates (`training.fit_evaluate`).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_contracts import CONTRACT_VERSION
from data_contracts.crm_data import TABLES
from models import mlflow_layout as layout
from models.drift import feature_profile
from models.mlflow_setup import configure_mlflow
from models.settings import Settings
from training.champion_compare import champion_verdict
from training.evaluate import flatten_metrics
from training.feedback_eval import feedback_metrics
from training.fit_evaluate import Candidate
from training.leakage import LeakageReport
from training.phases import PhaseClock
from training.prepare import TrainingData, quarantine_record
from training.register import register_candidate
from training.sample_size import MIN_TRAINING_WINS, small_data_problem
from training.summary import TrainResult

CENSORING_TREATMENT = (
    "excluded from training and evaluation: a lead whose horizon has not elapsed by the "
    "data's end is neither a win nor a loss yet if open, and if already closed it is left out "
    "too, so that fast wins do not crowd out the slow losses still open beside them"
)
PROFILE_ROWS = 50_000


def code_version() -> str:
    """The git commit of the code that trained, where there is one."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=here,
            timeout=5,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=here,
            timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import version

        return f"handoff-{version('handoff')}"


def training_summary(data: TrainingData, candidate: Candidate) -> dict[str, Any]:
    """The run's own account of its data, windows and choices (`training_summary.json`)."""
    crm = data.crm
    censored = data.labels["censored"].to_numpy(dtype=bool)
    n_censored = int(censored.sum())
    n_censored_open = int((censored & data.labels["open"].to_numpy(dtype=bool)).sum())
    features = data.features
    return {
        "data_dir": str(data.data_dir),
        "mapping": str(data.mapping) if data.mapping else None,
        "source": crm.source,
        "data_fingerprint": data.fingerprint,
        "data_end": str(crm.data_end),
        "contract_version": CONTRACT_VERSION,
        "feature_sets": [fs.to_dict() for fs in features.feature_sets],
        "horizon_days": data.horizon_days,
        "half_life_days": data.half_life_days,
        # Valid rows by table, as validation counted them (either engine: on Spark the
        # tables themselves never come to this process).
        "n_leads": data.validation.counts["leads"]["valid"],
        "n_events": data.validation.counts["events"]["valid"],
        "n_outcomes": data.validation.counts["outcomes"]["valid"],
        "n_censored": n_censored,
        "n_censored_open": n_censored_open,
        "n_censored_closed": n_censored - n_censored_open,
        "censoring": CENSORING_TREATMENT,
        "n_labelled": int((~censored).sum()),
        "windows": data.split.windows(data.snapshot),
        "win_rate": {fold: float(data.fold(fold)[1].mean()) for fold in ("train", "val", "test")},
        "contract_checks": data.validation.counts,
        "skip_invalid_rows": data.skip_invalid_rows,
        "quarantined": quarantine_record(data.validation),
        "excluded_columns": crm.excluded_columns,
        "absent_fields": list(crm.absent_fields),
        "export": crm.report.to_dict() if crm.report is not None else None,
        "leakage": data.leakage.to_dict(),
        "unseen_categories": candidate.unseen,
        "fit_columns": features.fit_columns,
        "interest_columns": features.interest_columns,
        "policy_proposed_by": candidate.policy.proposed_by,
        "n_train_wins": candidate.scorer.n_train_wins_,
        "min_training_wins": MIN_TRAINING_WINS,
        "small_data": small_data_problem(candidate.scorer.n_train_wins_),
        "model_choice": model_choice(candidate),
        "code_version": code_version(),
        "engine": data.engine,
        "rejection_as_negative": data.rejection_as_negative,
        "n_rejection_extra": candidate.n_rejection_extra,
        "rejection_effect": candidate.rejection_effect,
    }


def model_choice(candidate: Candidate) -> dict[str, dict[str, Any]]:
    """Per score: the family serving it, the runner-up, every family's cross-fitted
    validation AUC, the rule, and LightGBM's capacity where one was fitted."""
    capacities = candidate.scorer.capacities()
    return {
        score: {**choice.to_dict(), "lightgbm_capacity": capacities.get(score)}
        for score, choice in candidate.scorer.choices_.items()
    }


def run_metrics(summary: dict[str, Any], candidate: Candidate) -> dict[str, float]:
    """Every metric the run logs: per model and fold, counts, win rates, quadrants."""
    windows = summary["windows"]
    metrics = {
        **flatten_metrics("test", candidate.test_metrics),
        **flatten_metrics("val", candidate.val_metrics),
        "n_leads": float(summary["n_leads"]),
        "n_events": float(summary["n_events"]),
        "n_censored": float(summary["n_censored"]),
        "n_censored_open": float(summary["n_censored_open"]),
        **{f"n_{fold}": float(windows[fold]["rows"]) for fold in ("train", "val", "test")},
        "win_rate_train": summary["win_rate"]["train"],
        "win_rate_test": summary["win_rate"]["test"],
        "test_unseen_share": float(candidate.unseen["share"]),
        "n_leakage_excluded": float(len(summary["leakage"]["excluded"])),
        "n_leakage_kept": float(len(summary["leakage"]["kept"])),
        **candidate.verdict.metrics(),
        layout.TRAIN_WINS_METRIC: float(summary["n_train_wins"]),
        **feedback_metrics(candidate.feedback),
        "n_train_rejection_extra": float(candidate.n_rejection_extra),
    }
    effect = candidate.rejection_effect
    if effect is not None:
        metrics["test_combined_roc_auc_without_rejection_option"] = effect["auc_without"]
        for end in ("estimate", "low", "high"):
            metrics[f"test_rejection_option_auc_difference_{end}"] = effect["difference"][end]
    for score, choice in candidate.scorer.choices_.items():
        for family, auc in choice.val_auc.items():
            if np.isfinite(auc):
                metrics[layout.choice_metric(score, family)] = float(auc)
    for quadrant, row in candidate.quadrants.iterrows():
        metrics[layout.quadrant_metric(str(quadrant), "share")] = float(row["share"])
        metrics[layout.quadrant_metric(str(quadrant), "win_rate")] = float(row["win_rate"])
    return metrics


def _test_scores(data: TrainingData, candidate: Candidate) -> pd.DataFrame:
    """The test window's answers (no reasons), labels and baseline probabilities."""
    scored = candidate.scored
    out = scored.drop(columns=[c for c in ("fit_reasons", "interest_reasons") if c in scored])
    out = out.copy()
    out["unseen_categories"] = out["unseen_categories"].map(
        lambda v: ",".join(v) if isinstance(v, list | tuple | np.ndarray) else ""
    )
    test = data.split.test
    out.insert(0, "snapshot_at", data.snapshot.iloc[test].to_numpy())
    out.insert(1, "label", data.y[test])
    for name, p in candidate.baseline_probabilities.items():
        out[name] = p
    return out.reset_index(names="lead_id")


def _write_evaluation(folder: Path, data: TrainingData, candidate: Candidate) -> None:
    """The evaluation artifacts, into `folder` (logged as the run's evaluation/ folder)."""
    folder.mkdir()
    files = {
        key: folder / Path(path).name
        for key, path in (
            ("scores", layout.TEST_SCORES_FILE),
            ("features", layout.TEST_FEATURES_FILE),
            ("profile", layout.TRAIN_PROFILE_FILE),
            ("bins", layout.FEATURE_PROFILE_FILE),
            ("metrics", layout.METRICS_FILE),
            ("examples", layout.EXAMPLES_FILE),
        )
    }
    _test_scores(data, candidate).to_parquet(files["scores"])
    X_test, y_test = data.fold("test")
    X_test.assign(label=y_test).reset_index(names="lead_id").to_parquet(files["features"])
    X_train, _ = data.fold("train")
    profile = X_train.sample(n=min(PROFILE_ROWS, len(X_train)), random_state=0)
    profile.reset_index(names="lead_id").to_parquet(files["profile"])
    # Every model input's bins, cut from all the training rows (not the sample above).
    files["bins"].write_text(feature_profile(X_train, _inputs(candidate, X_train)).to_json())
    evaluation = {
        "test": candidate.test_metrics,
        "val": candidate.val_metrics,
        "quadrants": candidate.quadrants.reset_index().to_dict(orient="records"),
    }
    files["metrics"].write_text(json.dumps(evaluation, indent=2))
    files["examples"].write_text(json.dumps(candidate.examples, indent=2, default=str))
    (folder / Path(layout.LEAKAGE_FILE).name).write_text(
        json.dumps(data.leakage.to_dict(), indent=2)
    )
    (folder / Path(layout.FEEDBACK_FILE).name).write_text(json.dumps(candidate.feedback, indent=2))


def _inputs(candidate: Candidate, X: pd.DataFrame) -> list[str]:
    """The model's input columns (fit and interest), in the scorer's order."""
    return [c for c in candidate.scorer.columns_ if c in X.columns]


def _params(summary: dict[str, Any], candidate: Candidate, labels: str) -> dict[str, Any]:
    return {
        "horizon_days": summary["horizon_days"],
        "half_life_days": summary["half_life_days"],
        "contract_version": CONTRACT_VERSION,
        "feature_sets": labels,
        "data_fingerprint": summary["data_fingerprint"],
        "code_version": summary["code_version"],
        "source": summary["source"],
        "policy_proposed_by": candidate.policy.proposed_by,
        "rejection_as_negative": summary["rejection_as_negative"],
        **{f"scorer_{k}": v for k, v in candidate.scorer.get_params().items()},
        **{layout.family_param(s): c.chosen for s, c in candidate.scorer.choices_.items()},
        **{
            layout.runner_up_param(s): c.runner_up or "-"
            for s, c in candidate.scorer.choices_.items()
        },
    }


def _run_tags(summary: dict[str, Any]) -> dict[str, str]:
    tags = {
        layout.CONTRACT_VERSION_TAG: CONTRACT_VERSION,
        layout.CODE_VERSION_TAG: summary["code_version"],
        layout.DATA_FINGERPRINT_TAG: summary["data_fingerprint"],
    }
    if summary["quarantined"]:
        tags[layout.QUARANTINED_TAG] = json.dumps(summary["quarantined"])
    kept = kept_tag(summary)
    if kept:
        tags[layout.LEAKAGE_KEPT_TAG] = kept
    return tags


def kept_tag(summary: dict[str, Any]) -> str:
    """One line per suspect column the mapping kept (empty when none was kept)."""
    report = LeakageReport.from_dict(summary["leakage"])
    return "\n".join(f.sentence() for f in report.kept)


def log_and_register(
    data: TrainingData,
    candidate: Candidate,
    *,
    settings: Settings,
    clock: PhaseClock | None = None,
) -> TrainResult:
    """One MLflow run holding everything a reviewer, the gates and serving need, and the
    candidate version registered from its model (the champion is never touched)."""
    configure_mlflow(settings)
    import mlflow

    from models.pyfunc import log_handoff_model

    feature_sets = data.features.feature_sets
    labels = ",".join(fs.label for fs in feature_sets)
    summary = training_summary(data, candidate)
    metrics = run_metrics(summary, candidate)
    with mlflow.start_run(run_name=f"train-{pd.Timestamp.now(tz='UTC'):%Y%m%dT%H%M%S}") as run:
        run_id = run.info.run_id
        mlflow.log_params(_params(summary, candidate, labels))
        mlflow.set_tags(_run_tags(summary))
        mlflow.log_metrics(metrics)
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            candidate.policy.save(tmp / layout.POLICY_FILE)
            mlflow.log_artifact(str(tmp / layout.POLICY_FILE))
            _write_evaluation(tmp / layout.EVALUATION_DIR, data, candidate)
            mlflow.log_artifacts(str(tmp / layout.EVALUATION_DIR), layout.EVALUATION_DIR)
        if clock is not None:
            summary["phases"] = clock.records
        mlflow.log_dict(summary, layout.SUMMARY_FILE)
        mlflow.log_dict(
            {"contract_version": CONTRACT_VERSION, "tables": list(TABLES)}, layout.CONTRACT_FILE
        )
        mlflow.log_text(
            json.dumps([fs.to_dict() for fs in feature_sets], indent=2), layout.FEATURE_SETS_FILE
        )
        mlflow.log_dict(candidate.scorer.feature_importance(), layout.IMPORTANCE_FILE)
        info = log_handoff_model(
            candidate.scorer, candidate.policy, feature_sets, artifact_path=layout.MODEL_ARTIFACT
        )
        version_tags = {
            layout.CONTRACT_VERSION_TAG: CONTRACT_VERSION,
            layout.FEATURE_SETS_TAG: labels,
            layout.AUC_TAG: f"{metrics.get(layout.AUC_METRIC, np.nan):.4f}",
            layout.VERDICT_TAG: candidate.verdict.word,
        }
        if kept_tag(summary):
            version_tags[layout.LEAKAGE_KEPT_TAG] = kept_tag(summary)
        if summary["small_data"]:
            version_tags[layout.SMALL_DATA_TAG] = summary["small_data"]
        client = mlflow.MlflowClient()
        version = register_candidate(
            client,
            name=settings.model_name,
            run_id=run_id,
            model_uri=info.model_uri,
            tags=version_tags,
            description=(
                f"Trained on {summary['n_labelled']} labelled leads "
                f"({summary['n_censored']} censored); data {summary['data_fingerprint'][:12]}."
            ),
        )
        mlflow.set_tag(layout.RUN_MODEL_VERSION_TAG, version.version)
        verdict = candidate.verdict.with_champion(champion_verdict(client, settings, version))
        mlflow.log_dict(verdict.to_dict(), layout.VERDICT_FILE)
        champion_metrics = {
            k: v for k, v in verdict.metrics().items() if k.startswith("verdict_champion_")
        }
        if champion_metrics:
            mlflow.log_metrics(champion_metrics)
            metrics.update(champion_metrics)
    return TrainResult(
        version=str(version.version),
        run_id=run_id,
        model_name=settings.model_name,
        metrics=metrics,
        summary=summary,
        verdict=verdict,
    )
