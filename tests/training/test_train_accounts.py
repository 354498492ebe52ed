"""`handoff train-accounts` and the account model under the lead model's governance: rows
split by cut-off, the shipped account policy, the accounts section, and sign-off, promotion,
listing, rollback and report through the same commands with `--accounts`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from data_contracts.synthetic import generate_to_folder
from handoff_cli import app
from models.account_scores import shipped_account_policy
from models.policy import QuadrantPolicy
from training.account_data import AccountData, prepare_account_data
from training.account_evaluate import fit_and_evaluate_accounts
from training.account_report import accounts_section
from training.prepare import TrainingRefused

# The automatic gates are training's business, and a toy account model need not meet them:
# loosened here explicitly and visibly, as `tests.serving.conftest.LENIENT` does.
LENIENT_ENV = {
    "HANDOFF_PROMOTION_MAX_ECE": "1.0",
    "HANDOFF_PROMOTION_AUC_TOLERANCE": "1.0",
    "HANDOFF_PROMOTION_BASELINE_MARGIN": "-1.0",
}


def run(*args: str | Path, home: Path) -> Result:
    env = {"HANDOFF_HOME": str(home), **LENIENT_ENV}
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def crm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("accounts") / "crm"
    generate_to_folder(n_leads=3_000, seed=5, out_dir=folder, buying_group_effect=0.8)
    return folder


@pytest.fixture(scope="module")
def data(crm_dir: Path) -> AccountData:
    return prepare_account_data(crm_dir)


def test_account_rows_split_by_cut_off_in_time_order(data: AccountData) -> None:
    as_of = data.rows["as_of"]
    train, val, test = (as_of.iloc[getattr(data.split, f)] for f in ("train", "val", "test"))
    assert train.max() < val.min() <= val.max() < test.min()
    assert not data.rows["censored"].any()
    assert len(data.X) == len(data.rows) == len(data.y)
    assert data.oracle is not None and len(data.oracle) == len(data.split.test)


def test_account_policy_proposed_with_shipped_actions_unless_given(data: AccountData) -> None:
    shipped = shipped_account_policy()
    proposed = fit_and_evaluate_accounts(data).policy
    assert proposed.proposed_by == "training"
    assert proposed.actions == shipped.actions
    given = QuadrantPolicy(fit_threshold=10, interest_threshold=90)
    assert fit_and_evaluate_accounts(data, policy=given).policy == given


def test_accounts_section_counts_quadrants_and_roles_with_wilson() -> None:
    quadrants = np.array(["sales_now"] * 10 + ["nurture"] * 10, dtype=object)
    covered = np.array([2] * 10 + [0] * 10)
    y = np.array([1] * 5 + [0] * 5 + [0] * 10)
    section = accounts_section(quadrants, covered, y)
    sales_now = section["quadrants"][0]
    assert (sales_now["group"], sales_now["accounts"], sales_now["wins"]) == ("sales_now", 10, 5)
    assert sales_now["low"] < 0.5 < sales_now["high"]
    by_roles = {r["group"]: r for r in section["roles_covered"]}
    assert by_roles["2"]["win_rate"] == 0.5 and by_roles["0"]["win_rate"] == 0.0
    assert by_roles["3"]["accounts"] == 0 and by_roles["3"]["win_rate"] is None


def test_train_accounts_without_accounts_table_refused(tmp_path: Path, crm_dir: Path) -> None:
    folder = tmp_path / "no_accounts"
    folder.mkdir()
    for name in ("leads", "events", "outcomes"):
        pd.read_parquet(crm_dir / f"{name}.parquet").to_parquet(folder / f"{name}.parquet")
    with pytest.raises(TrainingRefused, match="no accounts table"):
        prepare_account_data(folder)
    result = run("train-accounts", folder, home=tmp_path / "home")
    assert result.exit_code == 1
    assert "no accounts table" in result.output


def test_account_model_governed_by_the_lead_commands_with_accounts(
    tmp_path: Path, crm_dir: Path
) -> None:
    home = tmp_path / "home"
    trained = run("train-accounts", crm_dir, home=home)
    assert trained.exit_code == 0, trained.output
    assert "registered handoff-lead-scorer-accounts version 1" in trained.output
    assert "AUC minus the oracle" in trained.output
    assert "win rate by buying-group roles covered" in trained.output

    early = run("promote", "1", "--accounts", home=home)
    assert early.exit_code == 1 and "has not signed off" in early.output
    for team in ("marketing", "bdr"):
        signed = run(
            "signoff",
            "1",
            "--accounts",
            "--team",
            team,
            "--by",
            f"{team}-lead",
            "--acknowledge-small-data",
            home=home,
        )
        assert signed.exit_code == 0, signed.output
    promoted = run("promote", "1", "--accounts", home=home)
    assert promoted.exit_code == 0, promoted.output
    listed = run("models", "--accounts", home=home)
    assert "champion" in listed.output and "handoff-lead-scorer-accounts" in listed.output
    assert "no versions of handoff-lead-scorer yet" in run("models", home=home).output
    assert run("rollback", "--accounts", home=home).exit_code == 1  # nothing before it

    out = tmp_path / "report.html"
    reported = run("report", "1", "--accounts", "--out", out, home=home)
    assert reported.exit_code == 0, reported.output
    html = out.read_text()
    assert 'id="account_quadrants"' in html and 'id="account_roles"' in html
