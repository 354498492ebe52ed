"""validate.py: every kind of bad data is reported per row, lazily, and no row disappears."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data_contracts.crm_data import CrmData
from data_contracts.validate import validate_crm, validate_folder


def _leads(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n)],
            "created_at": ["2024-01-01T00:00:00"] * n,
            "email": ["a@b.com"] * n,
            "company": "Acme",
            "phone": None,
            "mobile": None,
            "industry": "software",
            "employees": ["10"] * n,
            "annual_revenue": ["1000.5"] * n,
            "country": "DE",
            "title": "CTO",
            "seniority": "vp",
            "function": "engineering",
            "source": "webinar",
            "is_named_account": ["false"] * n,
        }
    )


def _events(n_leads: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n_leads)],
            "occurred_at": ["2024-01-02T10:00:00+02:00"] * n_leads,
            "type": "web_visit",
            "channel": "web",
            "campaign": None,
        }
    )


def _outcomes(n_leads: int = 3) -> pd.DataFrame:
    ids = [f"L{i}" for i in range(n_leads)]
    return pd.DataFrame(
        {
            "lead_id": ids + ids,
            "stage": ["mql"] * n_leads + ["closed_won"] * n_leads,
            "occurred_at": ["2024-01-03"] * n_leads + ["2024-02-01"] * n_leads,
            "reject_reason": None,
            "amount": None,
            "meeting_rating": None,
        }
    )


@pytest.fixture
def crm() -> CrmData:
    return CrmData(leads=_leads(), events=_events(), outcomes=_outcomes())


def _checks(result, file: str) -> set[tuple[object, str, str]]:  # type: ignore[no-untyped-def]
    f = result.failures
    rows = f.loc[f["file"] == file]
    return set(zip(rows["row"], rows["column"], rows["check"], strict=True))


def test_validate_good_data_passes(crm: CrmData) -> None:
    result = validate_crm(crm)
    assert result.ok
    assert result.failures.empty
    assert len(result.valid.leads) == 3
    assert str(result.valid.leads["created_at"].dtype) == "datetime64[us, UTC]"
    assert result.valid.events["occurred_at"].iloc[0] == pd.Timestamp("2024-01-02 08:00", tz="UTC")
    assert result.valid.leads["is_named_account"].dtype == bool
    assert not result.valid.leads["is_named_account"].any()
    assert "passed" in result.report_text()


def test_validate_wrong_types_reported_per_row(crm: CrmData) -> None:
    crm.leads.loc[1, "employees"] = "ten"
    crm.leads.loc[2, "created_at"] = "yesterday"
    result = validate_crm(crm)
    assert (1, "employees", "not a valid integer") in _checks(result, "leads")
    assert (2, "created_at", "not a valid timestamp") in _checks(result, "leads")
    assert result.counts["leads"] == {"rows": 3, "valid": 1, "quarantined": 2}


def test_validate_missing_required_column_is_table_level(crm: CrmData) -> None:
    crm.leads = crm.leads.drop(columns=["source"])
    result = validate_crm(crm)
    assert (None, "source", "missing required column") in _checks(result, "leads")
    assert result.counts["leads"]["valid"] == 0


def test_validate_missing_nullable_column_keeps_rows(crm: CrmData) -> None:
    crm.leads = crm.leads.drop(columns=["phone"])
    result = validate_crm(crm)
    assert not result.ok
    assert (None, "phone", "missing required column") in _checks(result, "leads")
    assert result.counts["leads"]["valid"] == 3


def test_validate_unknown_category_reported(crm: CrmData) -> None:
    crm.leads.loc[0, "seniority"] = "overlord"
    result = validate_crm(crm)
    row = result.failures.query("file == 'leads' and row == 0").iloc[0]
    assert row["column"] == "seniority"
    assert row["check"].startswith("isin(")
    assert row["value"] == "overlord"


def test_validate_duplicate_ids_reported(crm: CrmData) -> None:
    crm.leads.loc[2, "lead_id"] = "L1"
    result = validate_crm(crm)
    assert {(1, "lead_id", "duplicate lead_id"), (2, "lead_id", "duplicate lead_id")} <= _checks(
        result, "leads"
    )


def test_validate_orphan_event_reported(crm: CrmData) -> None:
    crm.events.loc[0, "lead_id"] = "nobody"
    result = validate_crm(crm)
    assert (0, "lead_id", "event for unknown lead") in _checks(result, "events")


def test_validate_time_running_backwards_reported(crm: CrmData) -> None:
    crm.outcomes.loc[3, "occurred_at"] = "2024-01-02"  # closed_won before mql
    result = validate_crm(crm)
    found = _checks(result, "outcomes")
    assert (0, "occurred_at", "stage time runs backwards") in found
    assert (3, "occurred_at", "stage time runs backwards") in found


def test_validate_empty_file_reported(tmp_path: Path, crm: CrmData) -> None:
    crm.leads.to_csv(tmp_path / "leads.csv", index=False)
    (tmp_path / "events.csv").write_text("")
    crm.outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    result = validate_folder(tmp_path)
    assert (None, None, "empty file") in _checks(result, "events.csv")


def test_validate_nan_in_required_field_reported(crm: CrmData) -> None:
    crm.leads.loc[1, "function"] = None
    crm.events.loc[2, "occurred_at"] = None
    result = validate_crm(crm)
    assert (1, "function", "missing value in required field") in _checks(result, "leads")
    assert (2, "occurred_at", "missing value in required field") in _checks(result, "events")


def test_validate_won_and_lost_reported(crm: CrmData) -> None:
    extra = crm.outcomes.iloc[[3]].assign(stage="closed_lost")
    crm.outcomes = pd.concat([crm.outcomes, extra], ignore_index=True)
    result = validate_crm(crm)
    found = _checks(result, "outcomes")
    assert {(3, "stage", "won and lost"), (6, "stage", "won and lost")} <= found
    # The lead's label is unknowable: the lead and its other rows go too, reported.
    assert (0, "lead_id", "lead has invalid outcomes") in _checks(result, "leads")
    assert (0, "lead_id", "lead quarantined") in _checks(result, "events")


def test_validate_lazy_two_bad_rows_two_reports(crm: CrmData) -> None:
    crm.leads.loc[0, "source"] = "carrier_pigeon"
    crm.leads.loc[2, "employees"] = "-5"
    result = validate_crm(crm)
    leads_rows = result.failures.query("file == 'leads'")
    assert set(leads_rows["row"]) == {0, 2}


def test_validate_quarantine_accounts_for_every_row(tmp_path: Path, crm: CrmData) -> None:
    crm.leads.loc[0, "seniority"] = "overlord"
    crm.events.loc[1, "type"] = "telepathy"
    for name in ("leads", "events", "outcomes"):
        crm.table(name).to_csv(tmp_path / f"{name}.csv", index=False)
    result = validate_folder(tmp_path, quarantine_dir=tmp_path / "q")
    for name, c in result.counts.items():
        assert c["valid"] + c["quarantined"] == c["rows"]
        if c["quarantined"]:
            held = pd.read_csv(result.quarantined[name])
            assert len(held) == c["quarantined"]
            assert held["_failures"].notna().all()
    events = pd.read_csv(result.quarantined["events"])
    assert set(events["_row"]) == {0, 1}  # lead L0 quarantined, and the bad type
    assert "lead quarantined" in " ".join(events["_failures"])
    assert "quarantine" in result.report_text()


def test_validate_report_text_lists_failures(crm: CrmData) -> None:
    crm.leads.loc[1, "created_at"] = "never"
    text = validate_crm(crm).report_text()
    assert "FAILED" in text
    assert "leads row 1: created_at: not a valid timestamp" in text


def test_validate_vectorised_path_matches_pandera(
    crm: CrmData, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.leads.loc[0, "seniority"] = "overlord"
    crm.leads.loc[1, "employees"] = "0"
    crm.leads.loc[2, "lead_id"] = "L1"
    crm.events.loc[1, "type"] = "telepathy"
    crm.events.loc[2, "occurred_at"] = None
    by_pandera = validate_crm(crm).failures
    monkeypatch.setattr("data_contracts.validate.PANDERA_MAX_ROWS", 0)
    by_numpy = validate_crm(crm).failures
    key = ["file", "row", "column", "check", "value"]
    assert sorted(map(tuple, by_numpy[key].astype(str).values)) == sorted(
        map(tuple, by_pandera[key].astype(str).values)
    )


def test_validate_folder_parquet_vocabulary_read_as_categories(
    tmp_path: Path, crm: CrmData, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.events.loc[1, "type"] = "telepathy"
    for name in ("leads", "events", "outcomes"):
        crm.table(name).to_parquet(tmp_path / f"{name}.parquet", index=False)
    monkeypatch.setattr("data_contracts.validate.PANDERA_MAX_ROWS", 0)
    result = validate_folder(tmp_path, quarantine_dir=tmp_path / "q")
    assert isinstance(result.valid.events["type"].dtype, pd.CategoricalDtype)
    assert (1, "type") in {(r, c) for r, c, _ in _checks(result, "events.parquet")}
    assert result.counts["events"] == {"rows": 3, "valid": 2, "quarantined": 1}


def test_validate_folder_absent_events_file_is_empty_table(tmp_path: Path, crm: CrmData) -> None:
    crm.leads.to_csv(tmp_path / "leads.csv", index=False)
    crm.outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    result = validate_folder(tmp_path)
    assert result.ok, result.report_text()
    assert result.counts["events"]["rows"] == 0


def test_validate_empty_file_reported_once(tmp_path: Path, crm: CrmData) -> None:
    (tmp_path / "leads.csv").write_text("")
    result = validate_folder(tmp_path, quarantine_dir=tmp_path / "q")
    leads = result.failures.query("file == 'leads.csv'")
    assert leads["check"].tolist() == ["empty file"]
    assert not result.ok


def test_validate_account_id_is_checked_when_present(crm: CrmData) -> None:
    crm.leads["account_id"] = ["A1", None, "x" * 129]
    result = validate_crm(crm)
    assert _checks(result, "leads") == {(2, "account_id", "str_length(None, 128)")}
    assert result.valid.absent_fields == ()


def test_validate_declared_absent_field_is_not_required(crm: CrmData) -> None:
    crm.leads = crm.leads.drop(columns=["seniority", "is_named_account"])
    crm.absent_fields = ("seniority", "is_named_account")
    result = validate_crm(crm)
    assert result.ok, result.report_text()
    assert "seniority" not in result.valid.leads.columns
    assert set(result.valid.absent_fields) == {"seniority", "is_named_account", "account_id"}


def _accounts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "name": ["Acme Inc.", "Globex", "Initech"],
            "domain": ["acme.com", "globex.com", "www.ACME.com"],
            "industry": "software",
            "employees": ["250", "40", "12"],
            "annual_revenue": [None, "1e6", None],
            "country": "DE",
            "is_named_account": ["true", "false", "false"],
            "abm_tier": ["tier_1", None, None],
            "parent_account_id": [None, "A9", None],
            "business_unit": None,
            "owner": "Kim",
        }
    )


def test_validate_accounts_rules_quarantine_accounts_and_their_leads(crm: CrmData) -> None:
    """A1 and A3 share a domain, A2's parent is unknown: all three are held back, and so is
    every lead of theirs, with its events and outcomes."""
    crm.leads["account_id"] = ["A1", "A2", None]
    crm.accounts = _accounts()
    result = validate_crm(crm)
    assert _checks(result, "accounts") == {
        (0, "domain", "duplicate domain"),
        (2, "domain", "duplicate domain"),
        (1, "parent_account_id", "parent_account_id for unknown account"),
    }
    assert _checks(result, "leads") == {
        (0, "account_id", "account quarantined"),
        (1, "account_id", "account quarantined"),
    }
    assert result.valid.leads["lead_id"].tolist() == ["L2"]  # no account: validates as before
    assert result.valid.accounts is not None and result.valid.accounts.empty
    assert result.counts["accounts"] == {"rows": 3, "valid": 0, "quarantined": 3}
    assert set(result.valid.events["lead_id"]) == {"L2"}


def test_validate_lead_of_unknown_account_or_other_company_is_quarantined(crm: CrmData) -> None:
    crm.leads["account_id"] = ["A1", "A7", "A2"]
    crm.leads["company"] = ["ACME", "Acme", "Acme"]  # L2's account is Globex
    accounts = _accounts()
    accounts["domain"] = ["acme.com", "globex.com", "initech.com"]
    accounts["parent_account_id"] = [None, "A1", None]  # Globex, a unit of Acme
    crm.accounts = accounts
    result = validate_crm(crm)
    assert _checks(result, "leads") == {
        (1, "account_id", "lead for unknown account"),
        (2, "company", "company disagrees with its account's name"),
    }
    assert result.valid.leads["lead_id"].tolist() == ["L0"]
    assert len(result.valid.accounts) == 3  # type: ignore[arg-type]


def test_validate_accounts_without_optional_columns_read_them_as_missing(crm: CrmData) -> None:
    crm.leads["account_id"] = ["A1", "A2", None]
    crm.leads["company"] = [None, "Globex", "Acme"]
    accounts = _accounts().drop(columns=["domain", "abm_tier", "parent_account_id", "owner"])
    crm.accounts = accounts.drop(columns="business_unit")
    result = validate_crm(crm)
    assert result.ok, result.report_text()
    assert result.valid.accounts is not None
    assert result.valid.accounts["abm_tier"].isna().all()
    assert result.valid.accounts["is_named_account"].dtype == bool


def test_validate_accounts_field_errors_are_row_level(crm: CrmData) -> None:
    accounts = _accounts()
    accounts["domain"] = ["acme.com", "globex.com", "initech.com"]
    accounts["parent_account_id"] = None
    accounts["abm_tier"] = ["gold", None, None]
    accounts["employees"] = ["0", "40", "12"]
    crm.accounts = accounts
    result = validate_crm(crm)
    assert {(r, c) for r, c, _ in _checks(result, "accounts")} == {
        (0, "abm_tier"),
        (0, "employees"),
    }
    assert result.counts["accounts"]["valid"] == 2


def test_validate_folder_reads_and_quarantines_the_accounts_file(
    tmp_path: Path, crm: CrmData
) -> None:
    crm.leads["account_id"] = ["A1", "A2", None]
    crm.accounts = _accounts()
    for name in crm.tables:
        crm.table(name).to_csv(tmp_path / f"{name}.csv", index=False)
    result = validate_folder(tmp_path, quarantine_dir=tmp_path / "q")
    files = {"accounts.csv", "leads.csv", "events.csv", "outcomes.csv"}  # lead's history goes too
    assert set(result.failures["file"]) == files
    held = pd.read_csv(result.quarantined["accounts"])
    assert held["_failures"].str.contains("duplicate domain").sum() == 2
