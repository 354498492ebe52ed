"""mapping_accounts.py: `[accounts]` reads a CRM's account table into the contract's accounts,
so a mapped Salesforce or HubSpot export gives the generator's accounts and each lead's
account key; an orphan key is a row-level failure naming the export's file, row and column;
a mapping without `[accounts]` reads as before."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.crm_data import CrmData, read_folder
from data_contracts.cross_table import UNKNOWN_ACCOUNT
from data_contracts.mapping import MappingError, apply_mapping, parse_mapping, shipped_mapping
from data_contracts.mapping_accounts import web_domain
from data_contracts.schemas import SCHEMAS
from data_contracts.synthetic import (
    export_account_ids,
    export_lead_ids,
    export_owner_ids,
    generate_to_folder,
)
from data_contracts.validate import validate_folder

N_LEADS = 600
SEED = 3
SHAPES = ("salesforce", "hubspot")


@dataclass
class Folders:
    native: CrmData
    paths: dict[str, Path]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Folders:
    root = tmp_path_factory.mktemp("accounts")
    paths = {shape: root / shape for shape in ("native", *SHAPES)}
    for shape, path in paths.items():
        generate_to_folder(N_LEADS, SEED, path, shape=shape, buying_group_effect=0.8)
    return Folders(native=read_folder(paths["native"]), paths=paths)


def _doc(shape: str) -> dict:  # type: ignore[type-arg]
    return tomllib.loads(shipped_mapping(shape).read_text())


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as the contract reads them, compared as text (missing as None), by key."""
    out = frame.astype(object).where(frame.notna(), None)
    for name in out.columns:
        out[name] = out[name].map(lambda v: None if v is None else str(v))
    return out.sort_values("account_id").reset_index(drop=True)


@pytest.mark.parametrize("shape", SHAPES)
def test_mapping_accounts_round_trip_gives_the_native_accounts(
    folders: Folders, shape: str
) -> None:
    result = validate_folder(folders.paths[shape], shipped_mapping(shape))
    assert result.ok, result.report_text()
    assert result.valid.accounts is not None
    expected = folders.native.accounts.copy()
    assert expected is not None and expected["parent_account_id"].notna().any()
    assert expected["abm_tier"].notna().any() and expected["owner"].notna().any()
    for key in ("account_id", "parent_account_id"):
        expected[key] = export_account_ids(shape, expected[key]).to_numpy()
    expected["owner"] = export_owner_ids(shape, expected["owner"]).to_numpy()
    columns = list(SCHEMAS["accounts"].columns)
    got = _plain(result.valid.accounts[columns])
    want = _plain(expected[columns])
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("shape", SHAPES)
def test_mapping_accounts_round_trip_gives_each_leads_account(folders: Folders, shape: str) -> None:
    crm = apply_mapping(parse_mapping(_doc(shape)), folders.paths[shape])
    native = folders.native.leads
    by_lead = pd.Series(
        export_account_ids(shape, native["account_id"]).to_numpy(),
        index=export_lead_ids(shape, native["lead_id"]).to_numpy(),
    )
    got = crm.leads.set_index("lead_id")["account_id"]
    assert got.to_dict() == by_lead.reindex(got.index).to_dict()
    assert crm.accounts is not None and set(got) <= set(crm.accounts["account_id"])


def test_mapping_accounts_orphan_account_id_is_a_row_level_failure_at_its_source(
    folders: Folders, tmp_path: Path
) -> None:
    folder = tmp_path / "sf"
    folder.mkdir()
    for path in folders.paths["salesforce"].iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    lead = pd.read_csv(folder / "Lead.csv", dtype=str, keep_default_na=False)
    lead.loc[7, "Matched_Account__c"] = "001999999999999AAA"  # no such Account
    lead.to_csv(folder / "Lead.csv", index=False)
    result = validate_folder(folder, shipped_mapping("salesforce"))
    assert not result.ok
    failures = result.failures
    orphan = failures.loc[failures["check"] == UNKNOWN_ACCOUNT.format(kind="lead")]
    assert orphan[["file", "row", "column", "value"]].values.tolist() == [
        ["Lead.csv", 7, "Matched_Account__c", "001999999999999AAA"]
    ]
    # The lead is held back with its events and outcomes; every other lead passes.
    assert result.counts["leads"]["quarantined"] == 1
    assert result.counts["leads"]["valid"] == N_LEADS - 1
    assert result.counts["accounts"]["quarantined"] == 0


@pytest.mark.parametrize("shape", SHAPES)
def test_mapping_without_accounts_reads_the_export_as_before(folders: Folders, shape: str) -> None:
    doc = _doc(shape)
    without = {k: v for k, v in doc.items() if k != "accounts"}
    plain = apply_mapping(parse_mapping(without), folders.paths[shape])
    full = apply_mapping(parse_mapping(doc), folders.paths[shape])
    assert plain.accounts is None and "accounts" not in plain.origin
    assert plain.tables == ("leads", "events", "outcomes")
    for name in plain.tables:
        pd.testing.assert_frame_equal(plain.table(name), full.table(name))
    result = validate_folder(folders.paths[shape], shipped_mapping(shape))
    assert set(result.counts) == {"leads", "events", "outcomes", "accounts"}


def test_mapping_accounts_report_counts_the_accounts_made(folders: Folders) -> None:
    crm = apply_mapping(parse_mapping(_doc("salesforce")), folders.paths["salesforce"])
    assert crm.report is not None
    table = next(t for t in crm.report.tables if t.name == "Account")
    assert crm.accounts is not None and table.made["accounts"] == len(crm.accounts) > 0


def test_web_domain_reads_a_url_as_its_host() -> None:
    values = pd.Series(
        [
            "https://www.Acme.com/about",
            "http://globex.co.uk:8080",
            " www.initech.io ",
            "acme.de",
            None,
        ]
    )
    assert web_domain(values).tolist() == [
        "acme.com",
        "globex.co.uk",
        "initech.io",
        "acme.de",
        None,
    ]


def _accounts_doc(**change: object) -> dict:  # type: ignore[type-arg]
    doc = _doc("salesforce")
    doc["accounts"] = {**doc["accounts"], **change}
    return doc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"absent": []}, None),
        ({"columns": {"name": "Name"}}, r"accounts\.columns: account field\(s\) \['domain'"),
        ({"columns": {"account_id": "Id"}}, r"accounts\.columns\.account_id: .*accounts\.id"),
        ({"columns": {"region": "Region"}}, r"accounts\.columns\.region: not a contract"),
        ({"absent": ["is_named_account"]}, r"accounts\.absent: 'is_named_account' is not one"),
        ({"table": "Lead"}, r"accounts\.table: the lead table"),
        ({"table": "Nope"}, r"accounts\.table: no table 'Nope'"),
        ({"owner": "OwnerId"}, r"accounts: unknown key\(s\) \['owner'\]"),
    ],
)
def test_mapping_accounts_malformed_names_key(change: dict, message: str | None) -> None:  # type: ignore[type-arg]
    doc = _accounts_doc(**change)
    if message is None:
        assert parse_mapping(doc).accounts is not None
        return
    with pytest.raises(MappingError, match=message):
        parse_mapping(doc)


def test_mapping_accounts_map_targets_checked_against_the_tiers() -> None:
    doc = _doc("salesforce")
    doc["accounts"]["columns"]["abm_tier"] = {"from": "ABM_Tier__c", "map": {"Tier 1": "gold"}}
    with pytest.raises(MappingError, match=r"accounts\.columns\.abm_tier\.map.*'gold'"):
        parse_mapping(doc)


def test_mapping_accounts_need_the_leads_account_key() -> None:
    doc = _doc("salesforce")
    del doc["columns"]["account_id"]
    doc["leads"]["absent"] = ["account_id"]
    with pytest.raises(MappingError, match=r"columns\.account_id"):
        parse_mapping(doc)


def test_mapping_accounts_absent_fields_read_as_missing(folders: Folders) -> None:
    doc = _doc("salesforce")
    for name in ("abm_tier", "annual_revenue", "owner"):
        del doc["accounts"]["columns"][name]
    doc["accounts"]["absent"] = ["abm_tier", "annual_revenue", "owner"]
    crm = apply_mapping(parse_mapping(doc), folders.paths["salesforce"])
    assert crm.accounts is not None
    assert "abm_tier" not in crm.accounts and "owner" not in crm.accounts  # optional: left out
    assert crm.accounts["annual_revenue"].isna().all()  # required: there, missing
