"""`handoff train`: validate, label, build features, fit, evaluate, log and register a candidate.

One MLflow run per call. The result is a new model version tagged as a candidate awaiting
marketing and BDR review; the serving champion is never touched here.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_contracts import CONTRACT_VERSION
from data_contracts.crm_data import CrmData
from data_contracts.validate import ValidationResult, validate_folder
from features.build import FeatureFrame, build_features
from features.feature_sets import DEFAULT_HALF_LIFE_DAYS
from features.labels import make_labels
from models.baselines import make_baselines
from models.mlflow_setup import configure_mlflow
from models.policy import QUADRANTS, QuadrantPolicy, propose_policy, to_score
from models.scorer import LeadScorer
from models.settings import Settings
from training.evaluate import flatten_metrics, metrics_by_model, quadrant_table
from training.phases import PhaseClock
from training.register import register_candidate
from training.split import time_ordered_split
from training.summary import summary_table

CENSORING_TREATMENT = (
    "excluded from training and evaluation: a lead whose horizon has not elapsed by the "
    "data's end is neither a win nor a loss yet if open, and if already closed it is left out "
    "too, so that fast wins do not crowd out the slow losses still open beside them"
)
EXAMPLES_PER_QUADRANT = 5
PROFILE_ROWS = 50_000
# Run tag set when training skipped invalid rows: {table: {"rows", "file"}} as JSON.
QUARANTINE_TAG = "handoff.quarantined"


class TrainingRefused(Exception):
    """The data failed its contracts (or is unusable); the message carries the report."""

    def __init__(self, message: str, validation: ValidationResult | None = None) -> None:
        super().__init__(message)
        self.validation = validation


@dataclass
class TrainResult:
    """What one training run produced: the registered version and its numbers."""

    version: str
    run_id: str
    model_name: str
    metrics: dict[str, float]
    summary: dict[str, Any]
    phases: list[dict[str, float | str]] = field(default_factory=list)

    def summary_text(self) -> str:
        return summary_table(self)


def data_fingerprint(data_dir: Path, mapping: Path | None) -> str:
    """sha256 over the data files (and mapping), so a run names exactly what it learned from."""
    digest = hashlib.sha256()
    files = sorted(p for p in Path(data_dir).iterdir() if p.is_file() and p.suffix != ".json")
    if mapping is not None:
        files.append(Path(mapping))
    for path in files:
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()


def code_version() -> str:
    """The git commit of the code that trained, where there is one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
            timeout=5,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
            timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import version

        return f"handoff-{version('handoff')}"


def _oracle(data_dir: Path, lead_ids: pd.Index) -> np.ndarray | None:
    """The generator's true win probabilities for these leads, where a truth file exists."""
    path = Path(data_dir) / "truth.parquet"
    if not path.exists():
        return None
    truth = pd.read_parquet(path, columns=["lead_id", "p_win"]).set_index("lead_id")["p_win"]
    aligned = truth.reindex(lead_ids)
    return None if aligned.isna().any() else aligned.to_numpy(dtype=float)


def _validate(
    data_dir: Path, mapping: Path | None, skip_invalid_rows: bool = False
) -> ValidationResult:
    """Read (through the mapping, if any) and check the contracts; refuse failing data
    unless told to train on the rows that passed (the others are quarantined, and counted)."""
    result = validate_folder(data_dir, mapping=mapping)
    if result.ok:
        return result
    if not skip_invalid_rows:
        raise TrainingRefused(
            "the data fails its contracts; fix the quarantined rows and train again, or "
            "train on the rows that passed (skip_invalid_rows):\n" + result.report_text(),
            result,
        )
    if result.valid.leads.empty:
        raise TrainingRefused("no lead passed the contracts:\n" + result.report_text(), result)
    return result


def quarantine_record(validation: ValidationResult) -> dict[str, dict[str, Any]]:
    """How many rows of each table were held back, and the file they went to."""
    return {
        table: {"rows": validation.counts[table]["quarantined"], "file": str(path)}
        for table, path in validation.quarantined.items()
    }


def _labelled_features(
    crm: CrmData, horizon_days: int, half_life_days: float
) -> tuple[FeatureFrame, pd.DataFrame]:
    labels = make_labels(crm.leads, crm.outcomes, horizon_days=horizon_days, data_end=crm.data_end)
    features = build_features(
        crm.leads,
        crm.events,
        labels["snapshot_at"],
        fit_extras=crm.fit_columns,
        interest_extras=crm.interest_columns,
        half_life_days=half_life_days,
    )
    return features, labels


def labelled_training_frame(
    data_dir: Path,
    *,
    mapping: Path | None = None,
    horizon_days: int = 180,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> tuple[pd.DataFrame, np.ndarray, pd.Series, FeatureFrame]:
    """The labelled (uncensored) feature rows, labels and snapshot times `run_training`
    learns from, for evaluations that refit on other windows (`training.backtest`)."""
    crm = _validate(Path(data_dir), mapping).valid
    features, labels = _labelled_features(crm, horizon_days, half_life_days)
    return (*_labelled_rows(features, labels), features)


def _labelled_rows(
    features: FeatureFrame, labels: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """Feature rows, 0/1 labels and snapshot times of the leads that are not censored."""
    labelled = ~labels["censored"].to_numpy(dtype=bool)
    X = features.frame.loc[labelled]
    y = labels["label"].to_numpy()[labelled].astype(int)
    return X, y, labels["snapshot_at"].loc[labelled]


def _examples(
    scorer: LeadScorer, X_test: pd.DataFrame, scored: pd.DataFrame, policy: QuadrantPolicy
) -> list[dict[str, Any]]:
    """A few test leads per quadrant, with their reason codes, for the review report."""
    picks: list[str] = []
    for quadrant in QUADRANTS:
        ids = scored.index[scored["quadrant"].to_numpy() == quadrant]
        picks.extend(ids[:EXAMPLES_PER_QUADRANT].tolist())
    if not picks:
        return []
    detailed = scorer.score_leads(X_test.loc[picks], policy, reasons=True)
    records: list[dict[str, Any]] = json.loads(
        detailed.reset_index(names="lead_id").to_json(orient="records", date_format="iso")
    )
    return records


def run_training(
    data_dir: Path,
    *,
    mapping: Path | None = None,
    horizon_days: int = 180,
    policy_path: Path | None = None,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    settings: Settings | None = None,
    skip_invalid_rows: bool = False,
) -> TrainResult:
    """Train fit, interest and combined models on a CRM folder and register a candidate.

    Data failing its contracts is refused, unless `skip_invalid_rows`: then the model learns
    from the rows that passed, and the run records what was quarantined, and where.
    """
    settings = settings or Settings()
    clock = PhaseClock()
    data_dir = Path(data_dir)

    with clock.phase("fingerprint"):
        fingerprint = data_fingerprint(data_dir, mapping)
    with clock.phase("read+validate"):
        validation = _validate(data_dir, mapping, skip_invalid_rows)
        crm = validation.valid
    with clock.phase("features"):
        features, labels = _labelled_features(crm, horizon_days, half_life_days)

    labelled = ~labels["censored"].to_numpy(dtype=bool)
    n_censored = int((~labelled).sum())
    n_censored_open = int((~labelled & labels["open"].to_numpy(dtype=bool)).sum())
    X_all, y_all, snap = _labelled_rows(features, labels)
    split = time_ordered_split(snap)
    X_train, X_val, X_test = (X_all.iloc[i] for i in (split.train, split.val, split.test))
    y_train, y_val, y_test = (y_all[i] for i in (split.train, split.val, split.test))
    for name, y in (("train", y_train), ("validation", y_val), ("test", y_test)):
        if len(np.unique(y)) < 2:
            raise TrainingRefused(
                f"the {name} window has only one outcome class: need wins and losses"
            )

    with clock.phase("models"):
        scorer = LeadScorer().fit(
            X_train,
            y_train,
            X_cal=X_val,
            y_cal=y_val,
            fit_columns=features.fit_columns,
            interest_columns=features.interest_columns,
            categorical_columns=features.categorical_columns,
            feature_sets=features.feature_sets,
        )
        val_parts = scorer.predict_parts(X_val)
        if policy_path is not None:
            policy = QuadrantPolicy.load(policy_path)
        else:
            policy = propose_policy(
                to_score(val_parts["fit_probability"]),
                to_score(val_parts["interest_probability"]),
                y_val,
            )
    with clock.phase("baselines"):
        baselines = make_baselines()
        for baseline in baselines.values():
            baseline.fit(X_train, y_train)
    with clock.phase("evaluate"):
        scored = scorer.score_leads(X_test, policy, reasons=False)
        probs: dict[str, np.ndarray] = {
            "combined": scored["combined_probability"].to_numpy(),
            "fit": scored["fit_probability"].to_numpy(),
            "interest": scored["interest_probability"].to_numpy(),
        }
        val_probs: dict[str, np.ndarray] = {
            "combined": val_parts["combined_probability"].to_numpy(),
            "fit": val_parts["fit_probability"].to_numpy(),
            "interest": val_parts["interest_probability"].to_numpy(),
        }
        for name, baseline in baselines.items():
            probs[name] = baseline.predict_proba(X_test)
            val_probs[name] = baseline.predict_proba(X_val)
        oracle = _oracle(data_dir, X_test.index)
        if oracle is not None:
            probs["oracle"] = oracle
        test_metrics = metrics_by_model(y_test, probs)
        val_metrics = metrics_by_model(y_val, val_probs)
        quadrants = quadrant_table(scored["quadrant"].to_numpy(), y_test)
        examples = _examples(scorer, X_test, scored, policy)

    summary: dict[str, Any] = {
        "data_dir": str(data_dir),
        "mapping": str(mapping) if mapping else None,
        "source": crm.source,
        "data_fingerprint": fingerprint,
        "data_end": str(crm.data_end),
        "contract_version": CONTRACT_VERSION,
        "feature_sets": [fs.to_dict() for fs in features.feature_sets],
        "horizon_days": horizon_days,
        "half_life_days": half_life_days,
        "n_leads": len(crm.leads),
        "n_events": len(crm.events),
        "n_outcomes": len(crm.outcomes),
        "n_censored": n_censored,
        "n_censored_open": n_censored_open,
        "n_censored_closed": n_censored - n_censored_open,
        "censoring": CENSORING_TREATMENT,
        "n_labelled": int(labelled.sum()),
        "windows": split.windows(snap),
        "win_rate": {
            "train": float(y_train.mean()),
            "val": float(y_val.mean()),
            "test": float(y_test.mean()),
        },
        "contract_checks": validation.counts,
        "skip_invalid_rows": skip_invalid_rows,
        "quarantined": quarantine_record(validation),
        "excluded_columns": crm.excluded_columns,
        "fit_columns": features.fit_columns,
        "interest_columns": features.interest_columns,
        "policy_proposed_by": policy.proposed_by,
        "code_version": code_version(),
    }
    with clock.phase("log"):
        result = _log_run(
            settings=settings,
            scorer=scorer,
            policy=policy,
            features=features,
            summary=summary,
            test_metrics=test_metrics,
            val_metrics=val_metrics,
            quadrants=quadrants,
            scored=scored,
            X_test=X_test,
            y_test=y_test,
            test_snap=snap.iloc[split.test],
            baseline_probs={k: v for k, v in probs.items() if k.startswith("baseline_")},
            X_train=X_train,
            examples=examples,
            clock=clock,
        )
    result.phases = clock.records
    return result


def _log_run(
    *,
    settings: Settings,
    scorer: LeadScorer,
    policy: QuadrantPolicy,
    features: FeatureFrame,
    summary: dict[str, Any],
    test_metrics: dict[str, Any],
    val_metrics: dict[str, Any],
    quadrants: pd.DataFrame,
    scored: pd.DataFrame,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    test_snap: pd.Series,
    baseline_probs: dict[str, np.ndarray],
    X_train: pd.DataFrame,
    examples: list[dict[str, Any]],
    clock: PhaseClock,
) -> TrainResult:
    """Everything a reviewer, the gates and serving need, in one MLflow run and one version."""
    configure_mlflow(settings)
    import mlflow

    from models.pyfunc import log_handoff_model

    metrics = {
        **flatten_metrics("test", test_metrics),
        **flatten_metrics("val", val_metrics),
        "n_leads": float(summary["n_leads"]),
        "n_events": float(summary["n_events"]),
        "n_censored": float(summary["n_censored"]),
        "n_censored_open": float(summary["n_censored_open"]),
        "n_train": float(len(X_train)),
        "n_val": float(summary["windows"]["val"]["rows"]),
        "n_test": float(len(X_test)),
        "win_rate_train": summary["win_rate"]["train"],
        "win_rate_test": summary["win_rate"]["test"],
    }
    for quadrant, row in quadrants.iterrows():
        metrics[f"test_quadrant_{quadrant}_share"] = float(row["share"])
        metrics[f"test_quadrant_{quadrant}_win_rate"] = float(row["win_rate"])

    with mlflow.start_run(run_name=f"train-{pd.Timestamp.now(tz='UTC'):%Y%m%dT%H%M%S}") as run:
        run_id = run.info.run_id
        mlflow.log_params(
            {
                "horizon_days": summary["horizon_days"],
                "half_life_days": summary["half_life_days"],
                "contract_version": CONTRACT_VERSION,
                "feature_sets": ",".join(fs.label for fs in features.feature_sets),
                "data_fingerprint": summary["data_fingerprint"],
                "code_version": summary["code_version"],
                "source": summary["source"],
                "policy_proposed_by": policy.proposed_by,
                **{f"scorer_{k}": v for k, v in scorer.get_params().items()},
            }
        )
        mlflow.set_tags(
            {
                "handoff.contract_version": CONTRACT_VERSION,
                "handoff.code_version": summary["code_version"],
                "handoff.data_fingerprint": summary["data_fingerprint"],
                **(
                    {QUARANTINE_TAG: json.dumps(summary["quarantined"])}
                    if summary["quarantined"]
                    else {}
                ),
            }
        )
        mlflow.log_metrics(metrics)
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            policy.save(tmp / "policy.json")
            mlflow.log_artifact(str(tmp / "policy.json"))
            test_scores = scored.drop(
                columns=[c for c in ("fit_reasons", "interest_reasons") if c in scored.columns]
            ).copy()
            test_scores["unseen_categories"] = test_scores["unseen_categories"].map(
                lambda v: ",".join(v) if isinstance(v, list | tuple | np.ndarray) else ""
            )
            test_scores.insert(0, "snapshot_at", test_snap.to_numpy())
            test_scores.insert(1, "label", y_test)
            for name, p in baseline_probs.items():
                test_scores[name] = p
            evaluation = tmp / "evaluation"
            evaluation.mkdir()
            test_scores.reset_index(names="lead_id").to_parquet(evaluation / "test_scores.parquet")
            test_features = X_test.copy()
            test_features["label"] = y_test
            test_features.reset_index(names="lead_id").to_parquet(
                evaluation / "test_features.parquet"
            )
            profile = X_train.sample(n=min(PROFILE_ROWS, len(X_train)), random_state=0)
            profile.reset_index(names="lead_id").to_parquet(evaluation / "train_profile.parquet")
            (evaluation / "metrics.json").write_text(
                json.dumps(
                    {
                        "test": test_metrics,
                        "val": val_metrics,
                        "quadrants": quadrants.reset_index().to_dict(orient="records"),
                    },
                    indent=2,
                )
            )
            (evaluation / "examples.json").write_text(json.dumps(examples, indent=2, default=str))
            mlflow.log_artifacts(str(evaluation), "evaluation")
            summary["phases"] = clock.records
            mlflow.log_dict(summary, "training_summary.json")
            mlflow.log_dict(
                {"contract_version": CONTRACT_VERSION, "tables": ["leads", "events", "outcomes"]},
                "contract.json",
            )
            mlflow.log_text(
                json.dumps([fs.to_dict() for fs in features.feature_sets], indent=2),
                "feature_sets.json",
            )
            mlflow.log_dict(scorer.feature_importance(), "feature_importance.json")
        info = log_handoff_model(scorer, policy, features.feature_sets)
        client = mlflow.MlflowClient()
        version = register_candidate(
            client,
            name=settings.model_name,
            run_id=run_id,
            model_uri=info.model_uri,
            tags={
                "handoff.contract_version": CONTRACT_VERSION,
                "handoff.feature_sets": ",".join(fs.label for fs in features.feature_sets),
                "handoff.test_combined_roc_auc": f"{metrics.get('test_combined_roc_auc', float('nan')):.4f}",
            },
            description=(
                f"Trained on {summary['n_labelled']} labelled leads "
                f"({summary['n_censored']} censored); data {summary['data_fingerprint'][:12]}."
            ),
        )
        mlflow.set_tag("handoff.model_version", version.version)
    return TrainResult(
        version=str(version.version),
        run_id=run_id,
        model_name=settings.model_name,
        metrics=metrics,
        summary=summary,
    )
