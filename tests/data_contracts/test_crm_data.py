"""crm_data.py: one reader for CRM folders, and one choice between a folder and a mapping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data_contracts.crm_data import NotACrmFolder, read_folder, write_folder
from data_contracts.mapping import read_crm
from data_contracts.synthetic import generate_to_folder
from data_contracts.validate import validate_folder
from tests.conftest import tiny_mapping

MAPPING = tiny_mapping(id_from="id")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("crm") / "crm"
    generate_to_folder(n_leads=200, seed=1, out_dir=folder)
    return folder


def test_read_folder_records_which_files_it_read(tmp_path: Path, generated: Path) -> None:
    pd.read_parquet(generated / "leads.parquet").to_csv(tmp_path / "leads.csv", index=False)
    pd.read_parquet(generated / "outcomes.parquet").to_parquet(tmp_path / "outcomes.parquet")
    crm = read_folder(tmp_path)
    assert crm.files == {"leads": "leads.csv", "outcomes": "outcomes.parquet"}
    assert crm.source == f"folder:{tmp_path}"
    assert len(crm.events) == 0 and "occurred_at" in crm.events.columns


def test_read_folder_parquet_vocabulary_read_as_categories(generated: Path) -> None:
    crm = read_folder(generated)
    assert isinstance(crm.events["type"].dtype, pd.CategoricalDtype)
    assert isinstance(crm.leads["seniority"].dtype, pd.CategoricalDtype)
    assert not isinstance(crm.leads["lead_id"].dtype, pd.CategoricalDtype)
    assert crm.extracted_at is not None


def test_read_folder_empty_file_reads_as_table_without_columns(tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text("")
    crm = read_folder(tmp_path)
    assert crm.files == {"leads": "leads.csv"}
    assert crm.leads.shape == (0, 0)


def test_read_folder_without_leads_is_not_a_crm_folder(tmp_path: Path) -> None:
    (tmp_path / "Leads.csv").write_text("id,won\n1,yes\n")
    with pytest.raises(NotACrmFolder, match=r"no leads\.parquet or leads\.csv") as raised:
        read_folder(tmp_path)
    assert isinstance(raised.value, FileNotFoundError)
    assert raised.value.data_dir == tmp_path


def test_read_crm_without_mapping_reads_the_folder(generated: Path) -> None:
    crm = read_crm(generated)
    assert crm.files == {n: f"{n}.parquet" for n in ("leads", "events", "outcomes", "accounts")}
    assert len(crm.leads) == 200
    assert (
        crm.accounts is not None and crm.leads["account_id"].isin(crm.accounts["account_id"]).all()
    )


def test_read_crm_with_mapping_reads_the_export(tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_text("id,won\na,yes\nb,no\nc,no\n")
    mapping = tmp_path / "tiny.toml"
    mapping.write_text(MAPPING)
    crm = read_crm(tmp_path, mapping)
    assert crm.source == "mapping:tiny"
    assert crm.files == {}
    assert crm.leads["lead_id"].tolist() == ["a", "b", "c"]
    assert (crm.outcomes["stage"] == "closed_won").sum() == 1


def test_read_folder_written_before_account_id_reads_it_as_absent(
    tmp_path: Path, generated: Path
) -> None:
    for name in ("leads", "events", "outcomes"):
        frame = pd.read_parquet(generated / f"{name}.parquet")
        frame.drop(columns=["account_id"], errors="ignore").to_parquet(tmp_path / f"{name}.parquet")
    crm = read_folder(tmp_path)
    assert crm.accounts is None
    assert "account_id" not in crm.leads.columns
    assert crm.absent_fields == ("account_id",)


def test_write_folder_absent_fields_survive_a_round_trip(tmp_path: Path, generated: Path) -> None:
    crm = read_folder(generated)
    crm.leads = crm.leads.drop(columns=["seniority"])
    crm.absent_fields = ("seniority",)
    write_folder(crm, tmp_path / "out")
    again = read_folder(tmp_path / "out")
    assert again.absent_fields == ("seniority",)
    assert validate_folder(tmp_path / "out").ok


def test_write_folder_accounts_round_trip(tmp_path: Path, generated: Path) -> None:
    crm = read_folder(generated)
    write_folder(crm, tmp_path / "out", fmt="csv")
    again = read_folder(tmp_path / "out")
    assert again.files["accounts"] == "accounts.csv"
    assert again.accounts is not None and len(again.accounts) == len(crm.accounts)  # type: ignore[arg-type]
    assert validate_folder(tmp_path / "out").ok
