"""Synthetic feature frames with known truth: p_win = sigmoid(a + b·fit + c·interest)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

SENIORITY = ["ic", "manager", "director", "vp", "c_level", "unknown"]
INDUSTRY = ["software", "finance", "retail", "health", "education"]
FIT_COLUMNS = [
    "seniority",
    "industry",
    "employees_log",
    "is_named_account",
    "corporate_email",
    "fit_noise",
]
INTEREST_COLUMNS = [
    "pricing_page_count_7d",
    "demo_request_count_30d",
    "web_visit_count_30d",
    "email_click_count_30d",
    "days_since_last_activity",
    "interest_noise",
]
CATEGORICAL = ["seniority", "industry"]


@dataclass
class Synthetic:
    X: pd.DataFrame
    y: np.ndarray
    p_win: np.ndarray


def make_synthetic(n: int, seed: int, a: float = -2.0, b: float = 1.2, c: float = 1.2) -> Synthetic:
    """Leads whose fit and interest latents drive the win probability, plus pure-noise columns."""
    rng = np.random.default_rng(seed)
    seniority = rng.choice(SENIORITY, n, p=[0.35, 0.25, 0.15, 0.1, 0.05, 0.1])
    industry = rng.choice(INDUSTRY, n)
    employees_log = rng.normal(5, 1.5, n)
    named = (rng.random(n) < 0.15).astype(float)
    corporate = (rng.random(n) < 0.7).astype(float)
    sen_effect = (
        pd.Series(seniority)
        .map(
            {
                "ic": -0.6,
                "manager": 0.0,
                "director": 0.6,
                "vp": 0.9,
                "c_level": 1.0,
                "unknown": -0.4,
            }
        )
        .to_numpy()
    )
    ind_effect = (
        pd.Series(industry)
        .map({"software": 0.5, "finance": 0.3, "retail": -0.2, "health": 0.0, "education": -0.6})
        .to_numpy()
    )
    fit = sen_effect + ind_effect + 0.3 * (employees_log - 5) + 0.8 * named + 0.5 * corporate - 0.35
    pricing = rng.poisson(0.6, n).astype(float)
    demo = rng.poisson(0.15, n).astype(float)
    visits = rng.poisson(3, n).astype(float)
    clicks = rng.poisson(1, n).astype(float)
    days = rng.exponential(20, n).round()
    interest = 0.5 * pricing + 1.2 * demo + 0.08 * visits + 0.2 * clicks - 0.03 * days - 0.5
    p_win = 1 / (1 + np.exp(-(a + b * fit + c * interest)))
    y = (rng.random(n) < p_win).astype(int)
    X = pd.DataFrame(
        {
            "seniority": pd.Categorical(seniority, categories=SENIORITY),
            "industry": pd.Categorical(industry, categories=INDUSTRY),
            "employees_log": employees_log,
            "is_named_account": named,
            "corporate_email": corporate,
            "fit_noise": rng.normal(size=n),
            "pricing_page_count_7d": pricing,
            "demo_request_count_30d": demo,
            "web_visit_count_30d": visits,
            "email_click_count_30d": clicks,
            "days_since_last_activity": days,
            "interest_noise": rng.normal(size=n),
        },
        index=pd.Index([f"L{seed}-{i:06d}" for i in range(n)], name="lead_id"),
    )
    return Synthetic(X=X, y=y, p_win=p_win)


@pytest.fixture(scope="session")
def synthetic_folds() -> dict[str, Synthetic]:
    """Train / calibration / test folds drawn from the same process."""
    return {
        "train": make_synthetic(6000, seed=1),
        "cal": make_synthetic(3000, seed=2),
        "test": make_synthetic(4000, seed=3),
    }


@pytest.fixture(scope="session")
def fitted_scorer(synthetic_folds: dict[str, Synthetic]):
    from models.scorer import LeadScorer

    tr, cal = synthetic_folds["train"], synthetic_folds["cal"]
    return LeadScorer().fit(
        tr.X,
        tr.y,
        X_cal=cal.X,
        y_cal=cal.y,
        fit_columns=FIT_COLUMNS,
        interest_columns=INTEREST_COLUMNS,
        categorical_columns=CATEGORICAL,
    )


@pytest.fixture(scope="session")
def family_scorers(synthetic_folds: dict[str, Synthetic]) -> dict[str, Any]:
    """One scorer per learner family, each forced to serve every score from that family."""
    from models.learners import FAMILIES
    from models.scorer import LeadScorer

    tr, cal = synthetic_folds["train"], synthetic_folds["cal"]
    return {
        family: LeadScorer(families=(family,)).fit(
            tr.X,
            tr.y,
            X_cal=cal.X,
            y_cal=cal.y,
            fit_columns=FIT_COLUMNS,
            interest_columns=INTEREST_COLUMNS,
            categorical_columns=CATEGORICAL,
        )
        for family in FAMILIES
    }


def train_on_generated(
    folder: Path,
    *,
    n_leads: int,
    seed: int,
    train_share: float = 0.5,
    absent_fields: tuple[str, ...] = (),
    **scorer_params: Any,
) -> tuple[Any, Any, pd.DataFrame, pd.DataFrame]:
    """A HandoffModel trained on generated leads' real features (first `train_share` of the
    labelled leads train, the rest calibrate), with the raw data it came from:
    (model, crm, labels, X). `absent_fields` are dropped, as an export without them."""
    from data_contracts.crm_data import read_folder
    from data_contracts.synthetic import generate_to_folder
    from features.build import build_features
    from features.labels import make_labels
    from models.policy import QuadrantPolicy
    from models.pyfunc import HandoffModel
    from models.scorer import LeadScorer

    generate_to_folder(n_leads=n_leads, seed=seed, out_dir=folder)
    crm = read_folder(folder)
    crm.leads = crm.leads.drop(columns=list(absent_fields))
    labels = make_labels(crm.leads, crm.outcomes, horizon_days=180, data_end=crm.data_end)
    frame = build_features(
        crm.leads, crm.events, labels["snapshot_at"], absent_fields=absent_fields
    )
    known = ~labels["censored"].to_numpy()
    X = frame.frame.loc[known]
    y = labels["label"].to_numpy()[known].astype(int)
    cut = int(len(X) * train_share)
    scorer = LeadScorer(**scorer_params).fit(
        X.iloc[:cut],
        y[:cut],
        X_cal=X.iloc[cut:],
        y_cal=y[cut:],
        fit_columns=frame.fit_columns,
        interest_columns=frame.interest_columns,
        categorical_columns=frame.categorical_columns,
        feature_sets=frame.feature_sets,
    )
    model = HandoffModel(scorer, QuadrantPolicy(), frame.feature_sets)
    return model, crm, labels, X


@pytest.fixture(scope="session")
def raw_model(tmp_path_factory):
    """A scorer trained on generated leads' real features, and the raw data they came from."""
    folder = tmp_path_factory.mktemp("raw") / "crm"
    return train_on_generated(folder, n_leads=3_000, seed=5)
