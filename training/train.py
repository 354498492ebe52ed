"""`handoff train`: prepare the data, fit and evaluate, log and register a candidate.

One MLflow run per call. The result is a new model version tagged as a candidate awaiting
marketing and BDR review; the serving champion is never touched here. The three steps live
in their own modules: `training.prepare` (contracts, labels, features, split),
`training.fit_evaluate` (pure: data in, `Candidate` out) and `training.log_run` (MLflow).
"""

from __future__ import annotations

from pathlib import Path

from data_contracts.folder_buckets import BUCKET_LEADS
from features.feature_sets import DEFAULT_HALF_LIFE_DAYS
from features.roles import RolePolicy
from models.policy import QuadrantPolicy
from models.settings import Settings
from training.fit_evaluate import fit_and_evaluate
from training.log_run import log_and_register
from training.phases import PhaseClock
from training.prepare import TrainingData, TrainingRefused, prepare_training_data
from training.summary import TrainResult

__all__ = ["TrainResult", "TrainingRefused", "run_training"]


def run_training(
    data_dir: Path,
    *,
    mapping: Path | None = None,
    horizon_days: int = 180,
    policy_path: Path | None = None,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    settings: Settings | None = None,
    skip_invalid_rows: bool = False,
    rejection_as_negative: bool = False,
    bucket_leads: int = BUCKET_LEADS,
    account_features: bool = True,
    roles: RolePolicy | None = None,
) -> TrainResult:
    """Train fit, interest and combined models on a CRM folder and register a candidate.

    Data failing its contracts is refused, unless `skip_invalid_rows`: then the model learns
    from the rows that passed, and the run records what was quarantined, and where.
    `rejection_as_negative` (off by default) counts each AE-rejected training lead twice
    as a loss (`training.feedback_eval.with_rejections_as_negative`). A plain Parquet
    folder of more than `bucket_leads` leads is prepared a lead-id bucket at a time. With
    an accounts table the models also read account features (buying-group roles by
    `roles`), unless `account_features` is off.
    """
    settings = settings or Settings()
    clock = PhaseClock()
    data = prepare_training_data(
        Path(data_dir),
        mapping=mapping,
        horizon_days=horizon_days,
        half_life_days=half_life_days,
        skip_invalid_rows=skip_invalid_rows,
        clock=clock,
        currency=settings.currency,
        rejection_as_negative=rejection_as_negative,
        bucket_leads=bucket_leads,
        account_features=account_features,
        roles=roles,
    )
    return train_prepared(data, policy_path=policy_path, settings=settings, clock=clock)


def train_prepared(
    data: TrainingData,
    *,
    policy_path: Path | None,
    settings: Settings,
    clock: PhaseClock,
) -> TrainResult:
    """Fit, evaluate (verdict included), log and register prepared data: the steps after
    `prepare`, the same whichever engine prepared it (`training.spark_train`)."""
    policy = QuadrantPolicy.load(policy_path) if policy_path is not None else None
    candidate = fit_and_evaluate(data, policy=policy, clock=clock)
    with clock.phase("log"):
        result = log_and_register(data, candidate, settings=settings, clock=clock)
    result.phases = clock.records
    return result
