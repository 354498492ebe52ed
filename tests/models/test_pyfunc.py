"""HandoffModel: logged to a temp SQLite MLflow, registered, loaded by version and alias."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from features.feature_sets import FeatureSet, FeatureSpec
from models.mlflow_setup import disable_telemetry
from models.policy import QuadrantPolicy
from models.pyfunc import HandoffModel, events_from_column, log_handoff_model

FEATURE_SETS = [
    FeatureSet(
        name="fit_test",
        version="1",
        role="fit",
        features=(
            FeatureSpec(
                "seniority", "categorical", "category", "Seniority", phrase="{Value}-level title"
            ),
        ),
    )
]


@pytest.fixture(scope="module")
def registered(tmp_path_factory, fitted_scorer):
    disable_telemetry()
    import mlflow

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = mlflow.MlflowClient()
    exp = client.create_experiment("t", artifact_location=(root / "artifacts").as_uri())
    policy = QuadrantPolicy(fit_threshold=30, interest_threshold=25)
    with mlflow.start_run(experiment_id=exp):
        info = log_handoff_model(
            fitted_scorer, policy, FEATURE_SETS, registered_model_name="handoff-test"
        )
    version = "1"
    client.set_registered_model_alias("handoff-test", "champion", version)
    yield {"info": info, "policy": policy, "version": version}
    mlflow.set_tracking_uri(None)


@pytest.mark.slow
@pytest.mark.parametrize("uri", ["models:/handoff-test/1", "models:/handoff-test@champion"])
def test_loaded_model_scores_like_memory(registered, fitted_scorer, synthetic_folds, uri) -> None:
    import mlflow

    X = synthetic_folds["test"].X.head(200)
    loaded = mlflow.pyfunc.load_model(uri)
    out = loaded.predict({"features": X.reset_index()})
    expected = fitted_scorer.score_leads(X, registered["policy"])
    assert out["lead_id"].tolist() == X.index.tolist()
    for col in (
        "fit_probability",
        "interest_probability",
        "combined_probability",
        "quadrant",
        "tier",
    ):
        assert out[col].tolist() == expected[col].tolist(), col
    model = loaded.unwrap_python_model()
    assert isinstance(model, HandoffModel)
    assert model.contract_version and model.policy == registered["policy"]
    assert model.feature_sets == FEATURE_SETS


def test_events_column_exploded_to_table() -> None:
    leads = pd.DataFrame(
        {
            "lead_id": ["a", "b"],
            "events": [
                [{"occurred_at": "2025-01-01T00:00:00Z", "type": "pricing_page"}],
                [],
            ],
        }
    )
    events = events_from_column(leads)
    assert events["lead_id"].tolist() == ["a"]
    assert str(events["occurred_at"].dtype) == "datetime64[us, UTC]"
    assert {"channel", "campaign"} <= set(events.columns)


def test_phrases_from_feature_sets_used(fitted_scorer, synthetic_folds) -> None:
    import copy

    model = HandoffModel(copy.deepcopy(fitted_scorer), QuadrantPolicy(), FEATURE_SETS)
    X = synthetic_folds["test"].X
    X = X[X["seniority"] == "director"].head(20)
    out = model.score_features(X)
    texts = [r["text"] for rs in out["fit_reasons"] for r in rs if r["feature"] == "seniority"]
    assert texts and all(t == "Director-level title" for t in texts)


def test_score_raw_matches_training_features(raw_model) -> None:
    """Raw leads + events through `score_raw` give the scores of the features training built."""
    model, crm, labels, X = raw_model
    ids = X.index[:50]
    leads = crm.leads.set_index("lead_id").loc[ids].reset_index()
    events = crm.events[crm.events["lead_id"].isin(ids)]
    raw = model.score_raw(leads, events, as_of=labels["snapshot_at"].loc[ids], reasons=False)
    built = model.score_features(X.loc[ids])
    np.testing.assert_allclose(
        raw["combined_probability"].to_numpy(), built["combined_probability"].to_numpy(), rtol=1e-9
    )
    assert (raw["quadrant"].to_numpy() == built["quadrant"].to_numpy()).all()


def _columns(frame: pd.DataFrame) -> dict:
    """Plain numpy columns, the way the API builds them (times as int64 µs, no pandas)."""
    out = {}
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            out[col] = s.to_numpy(dtype="datetime64[us]").view(np.int64)
        elif s.dtype == bool:
            out[col] = s.to_numpy()
        elif pd.api.types.is_numeric_dtype(s.dtype):
            out[col] = s.to_numpy(dtype=float, na_value=np.nan)
        else:
            out[col] = np.array([None if pd.isna(v) else str(v) for v in s], dtype=object)
    return out


def test_score_columns_matches_score_raw_lead_by_lead(raw_model) -> None:
    """The API's DataFrame-free path gives the same scores, quadrants, reasons and unseen
    flags, one lead at a time, as `score_raw` on the same leads in one frame."""
    model, crm, labels, X = raw_model
    ids = X.index[100:140]
    leads = crm.leads.set_index("lead_id").loc[ids].reset_index()
    leads.loc[3, "industry"] = "space tourism"  # unseen in training
    events = crm.events[crm.events["lead_id"].isin(ids)]
    as_of = labels["snapshot_at"].loc[ids]
    expected = model.score_raw(leads, events, as_of=as_of, reasons=True)
    as_of_us = as_of.to_numpy(dtype="datetime64[us]").view(np.int64)
    for i, lead_id in enumerate(ids):
        one = leads[leads["lead_id"] == lead_id]
        got = model.score_columns(
            _columns(one),
            _columns(events[events["lead_id"] == lead_id]),
            as_of_us[i : i + 1],
            reasons=True,
        )
        row = expected.loc[lead_id]
        for col in ("fit_probability", "interest_probability", "combined_probability"):
            assert got[col][0] == pytest.approx(row[col], rel=1e-12), (lead_id, col)
        for col in ("quadrant", "tier", "speed_to_lead_minutes", "unseen_categories"):
            assert got[col][0] == row[col], (lead_id, col)
        assert got["fit_reasons"][0] == row["fit_reasons"], lead_id
        assert got["interest_reasons"][0] == row["interest_reasons"], lead_id
    assert expected.loc[ids[3], "unseen_categories"] == ["industry=space tourism"]


def test_model_refuses_features_the_installed_code_no_longer_builds(raw_model) -> None:
    """A model trained on a column today's feature code cannot build is refused, by name."""
    import copy

    from models.pyfunc import IncompatibleModel

    model, crm, _, _ = raw_model
    stale = HandoffModel(copy.deepcopy(model.scorer), model.policy, model.feature_sets)
    stale.scorer.columns_ = [*stale.scorer.columns_, "retired_feature"]
    with pytest.raises(IncompatibleModel, match="retired_feature"):
        stale.score_raw(crm.leads.head(3), crm.events.iloc[:0])


def test_scoring_uses_the_interest_parameters_training_used(raw_model) -> None:
    """A model trained with a 3-day half-life scores with 3 days, not the default 14."""
    model, _, _, _ = raw_model
    sets = [
        replace(fs, params={**fs.params, "half_life_days": 3.0}) if fs.role == "interest" else fs
        for fs in model.feature_sets
    ]
    short = HandoffModel(model.scorer, model.policy, sets)
    assert short.training_feature_sets()[1].params["half_life_days"] == 3.0
    assert model.training_feature_sets()[1].params["half_life_days"] == 14.0


def test_model_trained_without_absent_fields_scores_without_them(tmp_path) -> None:
    """Fields an export lacks are in no feature and no reason, and the model scores leads
    that do not carry them (as a mapped export's leads do not) with the set it was trained on."""
    from models.boosted import Capacity
    from tests.models.conftest import train_on_generated

    absent = ("seniority", "is_named_account", "employees")
    model, crm, labels, X = train_on_generated(
        tmp_path / "crm",
        n_leads=2_000,
        seed=4,
        absent_fields=absent,
        capacity=Capacity(num_leaves=7, min_data_in_leaf=20, max_rounds=40, patience=0),
    )
    fit_set = model.training_feature_sets()[0]
    assert fit_set.absent_fields == ("employees", "is_named_account", "seniority")
    assert not {"seniority", "is_named_account", "log_employees"} & set(model.scorer.columns_)
    assert fit_set.label == next(fs.label for fs in model.feature_sets if fs.role == "fit")
    ids = X.index[:60]
    leads = crm.leads.set_index("lead_id").loc[ids].reset_index()
    assert not set(absent) & set(leads.columns)
    events = crm.events[crm.events["lead_id"].isin(ids)]
    scored = model.score_raw(leads, events, as_of=labels["snapshot_at"].loc[ids])
    named = {r["feature"] for rs in scored["fit_reasons"] for r in rs}
    assert named and not named & {
        "seniority",
        "is_named_account",
        "log_employees",
        "employees_missing",
    }
