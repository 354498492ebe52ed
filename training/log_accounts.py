"""Write one account training run to MLflow and register its model as a candidate version
of the account model (`models.mlflow_layout.account_model_name`).

The artifacts a lead run writes under the same names where the gates, sign-offs, promotion
and champion comparison read them (policy, summary, verdict, metrics, test scores and
features), so `handoff signoff/promote/rollback --accounts` run the lead code unchanged;
plus the accounts section (`ACCOUNTS_FILE`). Test rows keep the `lead_id` column name the
shared readers expect; it holds the account row id (`account_id@cut-off`).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_contracts import CONTRACT_VERSION
from data_contracts.vocab import QUADRANTS
from models import mlflow_layout as layout
from models.account_pyfunc import AccountModel, account_feature_sets
from models.mlflow_setup import configure_mlflow
from models.settings import Settings
from training.account_data import AccountData
from training.account_evaluate import AccountCandidate
from training.champion_compare import champion_verdict
from training.evaluate import flatten_metrics
from training.fit_evaluate import EXAMPLES_PER_QUADRANT
from training.log_run import PROFILE_ROWS, code_version
from training.prepare import quarantine_record
from training.register import register_candidate
from training.sample_size import MIN_TRAINING_WINS, small_data_problem
from training.summary import TrainResult

ACCOUNT_CENSORING = (
    "excluded from training and evaluation: an account row whose horizon has not elapsed by "
    "the data's end and that has not won yet is neither a win nor a loss"
)
ROW_ID = "lead_id"  # the column name `training.champion_compare` reads test rows by


def account_summary(data: AccountData, candidate: AccountCandidate) -> dict[str, Any]:
    """The run's own account of its data, windows and choices (`training_summary.json`)."""
    crm = data.crm
    wins = candidate.scorer.n_train_wins_
    return {
        "kind": "accounts",
        "data_dir": str(data.data_dir),
        "mapping": str(data.mapping) if data.mapping else None,
        "source": crm.source,
        "data_fingerprint": data.fingerprint,
        "data_end": str(crm.data_end),
        "contract_version": CONTRACT_VERSION,
        "feature_sets": [fs.to_dict() for fs in account_feature_sets()],
        "horizon_days": data.horizon_days,
        "n_accounts": len(crm.accounts) if crm.accounts is not None else 0,
        "n_leads": data.validation.counts["leads"]["valid"],
        "n_events": data.validation.counts["events"]["valid"],
        "n_labelled": len(data.rows),
        "n_censored": data.n_censored,
        "censoring": ACCOUNT_CENSORING,
        "windows": data.split.windows(data.rows["as_of"]),
        "win_rate": {fold: float(data.fold(fold)[1].mean()) for fold in ("train", "val", "test")},
        "contract_checks": data.validation.counts,
        "quarantined": quarantine_record(data.validation),
        "policy_proposed_by": candidate.policy.proposed_by,
        "n_train_wins": wins,
        "min_training_wins": MIN_TRAINING_WINS,
        "small_data": small_data_problem(wins),
        "model_choice": {s: c.to_dict() for s, c in candidate.scorer.choices_.items()},
        "differences": {k: v.to_dict() for k, v in candidate.differences.items()},
        "accounts": candidate.accounts,
        "code_version": code_version(),
    }


def account_metrics(summary: dict[str, Any], candidate: AccountCandidate) -> dict[str, float]:
    """The run's metrics, named as a lead run names them (the gates read `AUC_METRIC`,
    `ECE_METRIC` and the quadrant win rates), plus each paired AUC difference."""
    windows = summary["windows"]
    metrics = {
        **flatten_metrics("test", candidate.test_metrics),
        **flatten_metrics("val", candidate.val_metrics),
        **{f"n_{fold}": float(windows[fold]["rows"]) for fold in ("train", "val", "test")},
        "n_accounts": float(summary["n_accounts"]),
        "n_censored": float(summary["n_censored"]),
        "win_rate_train": summary["win_rate"]["train"],
        "win_rate_test": summary["win_rate"]["test"],
        **candidate.verdict.metrics(),
        layout.TRAIN_WINS_METRIC: float(summary["n_train_wins"]),
    }
    for name, diff in candidate.differences.items():
        for end in ("estimate", "low", "high"):
            metrics[f"test_combined_minus_{name}_auc_{end}"] = getattr(diff, end)
    for quadrant, row in candidate.quadrants.iterrows():
        metrics[layout.quadrant_metric(str(quadrant), "share")] = float(row["share"])
        metrics[layout.quadrant_metric(str(quadrant), "win_rate")] = float(row["win_rate"])
    return {k: float(v) for k, v in metrics.items() if np.isfinite(v)}


def _examples(scored: pd.DataFrame) -> list[dict[str, Any]]:
    """A few test account rows per quadrant, with their reasons and buying group."""
    picks = pd.concat(
        [scored.loc[scored["quadrant"] == q].head(EXAMPLES_PER_QUADRANT) for q in QUADRANTS]
    )
    records: list[dict[str, Any]] = json.loads(
        picks.reset_index(names=ROW_ID).to_json(orient="records", date_format="iso")
    )
    return records


def _write_evaluation(folder: Path, data: AccountData, candidate: AccountCandidate) -> None:
    folder.mkdir()
    X_test, y_test = data.fold("test")
    scored = candidate.scored.drop(
        columns=[
            c
            for c in ("fit_reasons", "interest_reasons", "unseen_categories")
            if c in candidate.scored
        ]
    )
    scores = scored.assign(
        label=y_test, snapshot_at=data.rows["as_of"].iloc[data.split.test].to_numpy()
    )
    for name, p in candidate.baseline_probabilities.items():
        scores[name] = p
    scores.reset_index(names=ROW_ID).to_parquet(folder / Path(layout.TEST_SCORES_FILE).name)
    X_test.assign(label=y_test).reset_index(names=ROW_ID).to_parquet(
        folder / Path(layout.TEST_FEATURES_FILE).name
    )
    X_train, _ = data.fold("train")
    profile = X_train.sample(n=min(PROFILE_ROWS, len(X_train)), random_state=0)
    profile.reset_index(names=ROW_ID).to_parquet(folder / Path(layout.TRAIN_PROFILE_FILE).name)
    (folder / Path(layout.EXAMPLES_FILE).name).write_text(
        json.dumps(_examples(candidate.scored), indent=2, default=str)
    )
    evaluation = {
        "test": candidate.test_metrics,
        "val": candidate.val_metrics,
        "quadrants": candidate.quadrants.reset_index().to_dict(orient="records"),
    }
    (folder / Path(layout.METRICS_FILE).name).write_text(json.dumps(evaluation, indent=2))
    (folder / Path(layout.ACCOUNTS_FILE).name).write_text(json.dumps(candidate.accounts, indent=2))


def log_and_register_accounts(
    data: AccountData, candidate: AccountCandidate, *, settings: Settings
) -> TrainResult:
    """One MLflow run with what reviewers, gates and serving read, and a candidate version of
    the account model registered from it (no alias is touched)."""
    configure_mlflow(settings)
    import mlflow

    sets = account_feature_sets()
    labels = ",".join(fs.label for fs in sets)
    summary = account_summary(data, candidate)
    metrics = account_metrics(summary, candidate)
    name = layout.account_model_name(settings.model_name)
    account_settings = settings.model_copy(update={"model_name": name})
    run_name = f"train-accounts-{pd.Timestamp.now(tz='UTC'):%Y%m%dT%H%M%S}"
    with mlflow.start_run(run_name=run_name) as run:
        run_id = run.info.run_id
        mlflow.log_params(
            {
                "kind": "accounts",
                "horizon_days": data.horizon_days,
                "feature_sets": labels,
                "data_fingerprint": data.fingerprint,
                "policy_proposed_by": candidate.policy.proposed_by,
                **{layout.family_param(s): c.chosen for s, c in candidate.scorer.choices_.items()},
            }
        )
        mlflow.set_tags(
            {
                layout.CONTRACT_VERSION_TAG: CONTRACT_VERSION,
                layout.CODE_VERSION_TAG: summary["code_version"],
                layout.DATA_FINGERPRINT_TAG: data.fingerprint,
            }
        )
        mlflow.log_metrics(metrics)
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            candidate.policy.save(tmp / layout.POLICY_FILE)
            mlflow.log_artifact(str(tmp / layout.POLICY_FILE))
            _write_evaluation(tmp / layout.EVALUATION_DIR, data, candidate)
            mlflow.log_artifacts(str(tmp / layout.EVALUATION_DIR), layout.EVALUATION_DIR)
        mlflow.log_dict(summary, layout.SUMMARY_FILE)
        mlflow.log_text(
            json.dumps([fs.to_dict() for fs in sets], indent=2), layout.FEATURE_SETS_FILE
        )
        mlflow.log_dict(candidate.scorer.feature_importance(), layout.IMPORTANCE_FILE)
        info = mlflow_log_model(candidate)
        version_tags = {
            layout.CONTRACT_VERSION_TAG: CONTRACT_VERSION,
            layout.FEATURE_SETS_TAG: labels,
            layout.AUC_TAG: f"{metrics.get(layout.AUC_METRIC, np.nan):.4f}",
            layout.VERDICT_TAG: candidate.verdict.word,
        }
        if summary["small_data"]:
            version_tags[layout.SMALL_DATA_TAG] = summary["small_data"]
        client = mlflow.MlflowClient()
        version = register_candidate(
            client,
            name=name,
            run_id=run_id,
            model_uri=info.model_uri,
            tags=version_tags,
            description=(
                f"Account model trained on {summary['n_labelled']} labelled account rows "
                f"({summary['n_censored']} censored); data {data.fingerprint[:12]}."
            ),
        )
        mlflow.set_tag(layout.RUN_MODEL_VERSION_TAG, version.version)
        verdict = candidate.verdict.with_champion(
            champion_verdict(client, account_settings, version)
        )
        mlflow.log_dict(verdict.to_dict(), layout.VERDICT_FILE)
    return TrainResult(
        version=str(version.version),
        run_id=run_id,
        model_name=name,
        metrics=metrics,
        summary=summary,
        verdict=verdict,
    )


def mlflow_log_model(candidate: AccountCandidate) -> Any:
    """The account pyfunc, logged in the active run."""
    from models.pyfunc import log_handoff_model

    return log_handoff_model(
        candidate.scorer,
        candidate.policy,
        account_feature_sets(),
        artifact_path=layout.MODEL_ARTIFACT,
        python_model=AccountModel(),
    )
