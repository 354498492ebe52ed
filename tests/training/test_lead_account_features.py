"""Account features as lead-model inputs: added where the data has an accounts table,
recorded with the model (role policy included), rebuilt the same at scoring time, and left
out on `--no-account-features` or where there is no accounts table, saying which."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from data_contracts.synthetic import generate_to_folder
from features.account_sets import ACCOUNT_FIT_V1, ACCOUNT_INTEREST_V1
from features.lead_accounts import AccountInputs, role_policy_of
from features.roles import RolePolicy, RoleRule
from handoff_cli import app
from models.mlflow_setup import configure_mlflow
from models.pyfunc import HandoffModel
from models.settings import Settings
from training.labelled import (
    ACCOUNT_FEATURES_OFF,
    ACCOUNT_FEATURES_USED,
    NO_ACCOUNTS_TABLE,
)
from training.prepare import prepare_training_data
from training.train import run_training

ACCOUNT_COLUMNS = [*ACCOUNT_FIT_V1.columns, *ACCOUNT_INTEREST_V1.columns]


@pytest.fixture(scope="module")
def crm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lead-accounts") / "crm"
    generate_to_folder(n_leads=2_500, seed=3, out_dir=folder, buying_group_effect=0.8)
    return folder


def test_accounts_table_adds_account_features_to_both_models(crm_dir: Path) -> None:
    data = prepare_training_data(crm_dir)
    features = data.features
    assert data.engine["account_features"] == ACCOUNT_FEATURES_USED
    assert [fs.name for fs in features.feature_sets][2:] == [
        ACCOUNT_FIT_V1.name,
        ACCOUNT_INTEREST_V1.name,
    ]
    assert set(ACCOUNT_FIT_V1.columns) <= set(features.fit_columns)
    assert set(ACCOUNT_INTEREST_V1.columns) <= set(features.interest_columns)
    assert "acct_abm_tier" in features.categorical_columns
    assert set(ACCOUNT_COLUMNS) <= set(data.X.columns)
    assert data.X["acct_engaged_contacts"].max() > 1  # colleagues are seen, not only the lead


def test_no_account_features_and_no_accounts_table_leave_them_out(
    crm_dir: Path, tmp_path: Path
) -> None:
    off = prepare_training_data(crm_dir, account_features=False)
    assert off.engine["account_features"] == ACCOUNT_FEATURES_OFF
    assert not [c for c in off.X.columns if c.startswith("acct_")]
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("leads", "events", "outcomes"):
        (bare / f"{name}.parquet").write_bytes((crm_dir / f"{name}.parquet").read_bytes())
    none = prepare_training_data(bare)
    assert none.engine["account_features"] == NO_ACCOUNTS_TABLE
    assert len(none.features.feature_sets) == 2


def test_role_policy_is_recorded_with_the_account_features(crm_dir: Path) -> None:
    everyone_decides = RolePolicy(rules=[RoleRule(role="decision_maker")])
    data = prepare_training_data(crm_dir, roles=everyone_decides)
    interest = data.features.feature_sets[-1]
    assert role_policy_of(interest) == everyone_decides
    default = prepare_training_data(crm_dir).features.feature_sets[-1]
    assert interest.digest != default.digest
    assert (data.X["acct_engaged_buyers"] == 0).all()  # every contact is a decision maker


def test_trained_model_rebuilds_its_account_features_when_scoring(
    crm_dir: Path, tmp_path: Path
) -> None:
    """Scoring the test leads from raw data, with the folder as their account context, gives
    the scores of the features training built for them: one feature code, both ways."""
    import mlflow

    settings = Settings(home=tmp_path / "home")
    result = run_training(crm_dir, settings=settings)
    configure_mlflow(settings)
    model = mlflow.pyfunc.load_model(
        f"models:/{settings.model_name}/{result.version}"
    ).unwrap_python_model()
    assert isinstance(model, HandoffModel) and model.reads_accounts
    data = prepare_training_data(crm_dir)
    crm = data.validation.valid
    test_ids = data.X.index[data.split.test][:300]
    leads = crm.leads.set_index("lead_id").loc[test_ids].reset_index()
    snapshot = data.snapshot.loc[test_ids] if isinstance(data.snapshot, pd.Series) else None
    assert snapshot is not None
    inputs = AccountInputs.of_folder(leads, crm.leads, crm.events, crm.accounts)
    raw = model.score_raw(leads, crm.events, snapshot, accounts=inputs, reasons=False)
    built = model.score_features(data.X.loc[test_ids], reasons=False)
    for part in ("fit", "interest", "combined"):
        col = f"{part}_probability"
        assert np.allclose(raw[col].to_numpy(), built.loc[raw.index, col].to_numpy(), atol=1e-9)
    alone = model.score_raw(leads, crm.events, snapshot, reasons=False)
    assert not np.allclose(alone["interest_probability"], raw["interest_probability"])
    # MLflow's predict reads an accounts table beside the leads the same way.
    as_of = str(snapshot.max())
    whole = {"leads": crm.leads, "events": crm.events, "accounts": crm.accounts}
    predicted = model.predict(None, whole, params={"as_of": as_of, "reasons": False})
    inputs = AccountInputs.of_folder(crm.leads, crm.leads, crm.events, crm.accounts)
    direct = model.score_raw(crm.leads, crm.events, pd.Timestamp(as_of), accounts=inputs)
    np.testing.assert_allclose(
        predicted["combined_probability"].to_numpy(), direct["combined_probability"].to_numpy()
    )
    without = model.predict(None, whole | {"accounts": None}, params={"as_of": as_of})
    assert not np.allclose(without["combined_probability"], predicted["combined_probability"])


def test_train_cli_says_whether_account_features_were_used(crm_dir: Path, tmp_path: Path) -> None:
    env = {"HANDOFF_HOME": str(tmp_path / "home")}
    off = CliRunner().invoke(app, ["train", str(crm_dir), "--no-account-features"], env=env)
    assert off.exit_code == 0, off.output
    assert f"account features: {ACCOUNT_FEATURES_OFF}" in off.output
    spark = CliRunner().invoke(
        app, ["train", str(crm_dir), "--engine", "spark", "--role-policy", str(_policy(tmp_path))]
    )
    assert spark.exit_code == 2
    assert "--role-policy runs on --engine single only" in spark.output


def _policy(tmp_path: Path) -> Path:
    return RolePolicy().save(tmp_path / "roles.json")
