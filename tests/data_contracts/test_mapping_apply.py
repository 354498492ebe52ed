"""mapping_apply.py and mapping_outcomes.py: a version 2 mapping reads a multi-table export
onto the contracts: joins, links, real times, stages, events, worded extras, and counts of
everything it leaves out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data_contracts.crm_data import CrmData
from data_contracts.mapping import MappingError, apply_mapping, load_mapping, read_crm
from data_contracts.validate import validate_crm, validate_folder
from tests.data_contracts.conftest import MAPPING, write_export


@pytest.fixture
def crm(tiny_export: Path) -> CrmData:
    return read_crm(tiny_export.parent, tiny_export)


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_apply_leads_come_from_the_lead_table_with_joined_account_fields(crm: CrmData) -> None:
    leads = crm.leads.set_index("lead_id")
    assert list(leads.index) == ["L1", "L2", "L3"]
    assert leads["account_id"].tolist() == ["A1", "A2", "A9"]
    assert leads["industry"].tolist()[:2] == ["Software", "Retail"]
    assert pd.isna(leads.loc["L3", "industry"])  # A9 is not in Account.csv
    assert leads["is_named_account"].tolist() == ["true", "false", False]  # missing = false
    assert leads.loc["L2", "created_at"] == _utc("2025-01-07 09:30")  # Berlin wall clock
    assert crm.report is not None and crm.report.table("Account").matched == 2


def test_apply_absent_fields_are_not_columns(crm: CrmData) -> None:
    assert {"seniority", "function", "employees"} <= set(crm.absent_fields)
    assert not set(crm.absent_fields) & set(crm.leads.columns)


def test_apply_extras_carry_their_words(crm: CrmData) -> None:
    assert crm.fit_columns == ["account_size", "created_dow"]
    assert crm.interest_columns == ["landing"]
    assert crm.extra_words["created_dow"] == {
        "description": "Day the lead came in",
        "phrase": "Came in on a {value}",
    }
    assert crm.leads["created_dow"].tolist()[:2] == ["Monday", "Tuesday"]
    assert crm.leads["account_size"].tolist()[:2] == [250.0, 12.0]  # the first A2 row joins


def test_apply_stages_from_dates_deals_and_won_closed_flags(crm: CrmData) -> None:
    rows = {(r.lead_id, r.stage): r for r in crm.outcomes.itertuples()}
    assert set(rows) == {
        ("L1", "mql"),
        ("L3", "mql"),
        ("L1", "opportunity"),
        ("L2", "opportunity"),
        ("L1", "closed_won"),
    }
    assert rows[("L1", "mql")].occurred_at == _utc("2025-01-06 23:00")  # a Berlin date
    assert rows[("L1", "closed_won")].occurred_at == _utc("2025-02-08 08:00")  # epoch ms
    assert rows[("L1", "closed_won")].amount == "5000"
    assert crm.report is not None and crm.report.open_leads == 2


def test_apply_events_from_a_linked_activity_table(crm: CrmData) -> None:
    events = crm.events
    assert events["lead_id"].tolist() == ["L1", "L1", "L2"]
    assert events["type"].tolist() == ["web_visit", "pricing_page", "web_visit"]
    assert events["channel"].tolist() == ["web", "web", "web"]
    assert isinstance(events["type"].dtype, pd.CategoricalDtype)


def test_apply_counts_every_row_it_does_not_use(crm: CrmData) -> None:
    assert crm.report is not None
    assert crm.report.table("Task").left_out == {"reach no lead": 1, "unmapped type 'Call'": 1}
    assert crm.report.table("deals").left_out == {}  # the open deal is still an opportunity
    assert crm.report.table("deals").open_rows == 1
    assert crm.report.table("Lead").timestamps["CreatedDate"] == [2, 1]


def test_apply_unreadable_times_fail_validation_by_file_row_and_column(tiny_export: Path) -> None:
    result = validate_folder(tiny_export.parent, mapping=tiny_export)
    f = result.failures
    found = set(zip(f["file"], f["row"], f["column"], strict=True))
    assert ("Lead.csv", 2, "CreatedDate") in found
    assert ("Task.csv", 4, "When") in found
    assert result.counts["leads"] == {"rows": 3, "valid": 2, "quarantined": 1}
    quarantine = pd.read_csv(result.quarantined["events"])
    assert quarantine[["_source_file", "_source_row"]].values.tolist() == [["Task.csv", 4]]
    assert "reach no lead" in result.report_text()


def test_apply_derived_count_counts_linked_rows_before_creation(tmp_path: Path) -> None:
    mapping = MAPPING + (
        '\n[extras.tasks_before]\nderive = "count"\ntable = "Task"\nat = "When"\n'
        'role = "interest"\nkind = "numeric"\nlabel = "Activities before the lead was created"\n'
    )
    task = "Id,WhoId,Type,When,Channel\nT0,L1,Web Visit,2025-01-05T10:00:00Z,Web\n"
    task += "T1,L1,Web Visit,2025-01-06T10:00:00Z,Web\n"
    path = write_export(tmp_path, mapping, **{"Task.csv": task})
    crm = apply_mapping(load_mapping(path), tmp_path)
    assert crm.leads["tasks_before"].tolist() == [1.0, 0.0, 0.0]


def test_apply_an_id_like_extra_is_refused_unless_declared(tmp_path: Path) -> None:
    undeclared = MAPPING.replace(
        'id_like = "the export keys pages by a hash; a page is a real place"\n', ""
    )
    path = write_export(tmp_path, undeclared)
    with pytest.raises(
        MappingError, match=r"extras\.landing \(Landing page\): looks like an identifier"
    ):
        apply_mapping(load_mapping(path), tmp_path)


def test_apply_a_missing_column_names_table_and_key(tmp_path: Path) -> None:
    path = write_export(tmp_path, MAPPING.replace('from = "Employees"', 'from = "Headcount"'))
    with pytest.raises(
        MappingError, match=r"extras\.account_size\.from names column 'Headcount', not in Account"
    ):
        apply_mapping(load_mapping(path), tmp_path)


def test_apply_valid_rows_pass_the_contracts(crm: CrmData) -> None:
    result = validate_crm(crm)
    assert result.counts["outcomes"]["valid"] == 4  # L3's MQL goes with its lead
    assert result.valid.leads["is_named_account"].dtype == bool


def test_apply_keep_by_export_column_names_the_extra_it_feeds(tmp_path: Path) -> None:
    kept = MAPPING + '\n[keep]\nLanding = "the page is known when the form is sent"\n'
    crm = apply_mapping(load_mapping(write_export(tmp_path, kept)), tmp_path)
    assert crm.kept_columns == {"landing": "the page is known when the form is sent"}


def test_apply_keep_of_a_column_feeding_two_extras_names_both(tmp_path: Path) -> None:
    kept = MAPPING + (
        '\n[extras.created_hour]\nderive = "hour"\nfrom = "CreatedDate"\nrole = "fit"\n'
        'kind = "categorical"\nlabel = "Hour the lead came in"\n'
        '\n[keep]\nCreatedDate = "known when the lead arrives"\n'
    )
    crm = apply_mapping(load_mapping(write_export(tmp_path, kept)), tmp_path)
    why = "known when the lead arrives"
    assert crm.kept_columns == {"created_dow": why, "created_hour": why}


def test_apply_hour_of_a_joined_timestamp_in_the_local_zone(tmp_path: Path) -> None:
    account = "Id,Industry,Employees,Named,Since\nA1,Software,250,true,2025-01-06 18:30\n"
    account += "A2,Retail,12,false,junk\n"
    mapping = MAPPING + (
        '\n[extras.account_hour]\nderive = "hour"\ntable = "Account"\nfrom = "Since"\n'
        'role = "fit"\nkind = "categorical"\nlabel = "Hour the account signed"\n'
    )
    path = write_export(tmp_path, mapping, **{"Account.csv": account})
    crm = apply_mapping(load_mapping(path), tmp_path)
    assert crm.leads["account_hour"].tolist()[0] == "18:00"  # Berlin wall clock, as written
    assert crm.leads["account_hour"].isna().tolist()[1:] == [True, True]
    failed = crm.conversion_failures
    assert failed is not None
    assert ("leads", 1, "account_hour") in set(
        zip(failed["table"], failed["row"], failed["column"], strict=True)
    )
