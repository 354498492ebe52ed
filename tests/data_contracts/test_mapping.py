"""mapping.py: shipped mappings load the public datasets onto the contracts, without leakage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data_contracts.mapping import (
    MappingError,
    SourceFileMissing,
    apply_mapping,
    load_mapping,
    shipped_mapping,
    shipped_mappings,
    shipped_mappings_for,
)
from data_contracts.validate import validate_crm, validate_folder
from tests.conftest import tiny_mapping

pytestmark = pytest.mark.shared_data

CASES = {
    # name: (rows, won rate, leakage columns that must be excluded)
    "leads_x_education": (
        9_240,
        0.385,
        {"Tags", "Lead Quality", "Lead Profile", "Last Activity", "Last Notable Activity"}
        | {f"Asymmetrique {k} {t}" for k in ("Activity", "Profile") for t in ("Index", "Score")},
    ),
    "uci_bank_marketing": (41_188, 0.113, {"duration"}),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def mapped(request: pytest.FixtureRequest, shared_data: Path):  # type: ignore[no-untyped-def]
    name = request.param
    return name, apply_mapping(load_mapping(shipped_mapping(name)), shared_data / name)


def test_mapping_rows_preserved(mapped) -> None:  # type: ignore[no-untyped-def]
    name, crm = mapped
    assert len(crm.leads) == CASES[name][0]
    assert crm.leads["lead_id"].is_unique


def test_mapping_label_rate_matches(mapped) -> None:  # type: ignore[no-untyped-def]
    name, crm = mapped
    won = (crm.outcomes["stage"] == "closed_won").sum() / len(crm.leads)
    assert won == pytest.approx(CASES[name][1], abs=0.002)
    assert (crm.outcomes["stage"] == "mql").sum() == len(crm.leads)


def test_mapping_leakage_excluded_and_recorded(mapped) -> None:  # type: ignore[no-untyped-def]
    name, crm = mapped
    leakage = CASES[name][2]
    assert set(crm.excluded_columns) == leakage
    assert all(reason for reason in crm.excluded_columns.values())
    assert not leakage & set(crm.leads.columns)


def test_mapping_extras_have_roles_and_dtypes(mapped) -> None:  # type: ignore[no-untyped-def]
    _, crm = mapped
    assert crm.fit_columns and crm.interest_columns
    for col in crm.fit_columns + crm.interest_columns:
        assert col in crm.leads.columns
        assert str(crm.leads[col].dtype) in {"float64", "category"}


def test_mapping_output_validates(mapped) -> None:  # type: ignore[no-untyped-def]
    _, crm = mapped
    result = validate_crm(crm)
    assert result.ok, result.report_text()
    assert result.counts["leads"]["valid"] == len(crm.leads)


def test_mapping_validate_folder_with_mapping(shared_data: Path, tmp_path: Path) -> None:
    name = "uci_bank_marketing"
    result = validate_folder(
        shared_data / name, mapping=shipped_mapping(name), quarantine_dir=tmp_path
    )
    assert result.ok
    assert result.quarantined == {}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


GOOD = tiny_mapping(file="x.csv", label="y")


def test_load_mapping_minimal_ok(tmp_path: Path) -> None:
    assert load_mapping(_write(tmp_path, GOOD)).label_column == "y"


@pytest.mark.parametrize(
    ("broken", "key"),
    [
        (GOOD.replace('value = "outbound"', 'value = "carrier_pigeon"'), "columns.source.value"),
        (GOOD.replace('step = "1h"', 'step = "soon"'), "time.step"),
        (GOOD.replace('[columns.function]\nvalue = "other"\n', ""), "columns.function"),
        (GOOD.replace('positive = ["yes"]', ""), "label.positive"),
        (
            GOOD + '[extras.age]\nfrom = "age"\nrole = "vibes"\ndtype = "numeric"\n',
            "extras.age.role",
        ),
        (GOOD + '[excluded]\ny = "leaks"\n', "excluded"),
        (GOOD.replace("[source]", "[source]\nseperator = ';'"), "source"),
        (GOOD + '[keep]\nsegment = ""\n', "keep.'segment'"),
        (GOOD + '[excluded]\nsegment = "at close"\n[keep]\nsegment = "why not"\n', "keep"),
    ],
)
def test_load_mapping_malformed_names_key(tmp_path: Path, broken: str, key: str) -> None:
    with pytest.raises(MappingError, match=key.replace(".", r"\.")):
        load_mapping(_write(tmp_path, broken))


def test_shipped_mapping_unknown_name_lists_known() -> None:
    with pytest.raises(FileNotFoundError, match="leads_x_education"):
        shipped_mapping("nope")


def test_shipped_mappings_are_the_packaged_toml_files() -> None:
    known = shipped_mappings()
    assert set(known) == {"leads_x_education", "uci_bank_marketing"}
    assert all(path.suffix == ".toml" and path.is_file() for path in known.values())


def test_shipped_mappings_for_a_folder_are_those_whose_export_is_there(tmp_path: Path) -> None:
    assert shipped_mappings_for(tmp_path) == []
    (tmp_path / "Leads.csv").write_text("Prospect ID\n")
    assert shipped_mappings_for(tmp_path) == [shipped_mapping("leads_x_education")]


def test_apply_mapping_on_a_folder_without_the_export_names_mapping_file_and_folder(
    tmp_path: Path,
) -> None:
    mapping = load_mapping(_write(tmp_path, GOOD))
    with pytest.raises(SourceFileMissing) as raised:
        apply_mapping(mapping, tmp_path / "elsewhere")
    assert (
        str(raised.value)
        == f"mapping {mapping.path}: no source file x.csv in {tmp_path / 'elsewhere'}"
    )
    assert isinstance(raised.value, FileNotFoundError)


@pytest.mark.parametrize("name", ["leads_x_education", "uci_bank_marketing"])
def test_shipped_mapping_declares_final_labels_past_every_horizon(
    shared_data: Path, name: str
) -> None:
    """Both exports' labels are final: the data end must leave no lead's horizon unfinished."""
    crm = apply_mapping(load_mapping(shipped_mapping(name)), shared_data / name)
    assert crm.data_end >= crm.leads["created_at"].max() + pd.Timedelta(days=180)


def test_mapping_keep_by_export_column_names_the_extra_it_feeds(tmp_path: Path) -> None:
    text = GOOD + (
        '[extras.segment]\nfrom = "Segment"\nrole = "fit"\ndtype = "categorical"\n'
        '[keep]\nSegment = "set by the buyer on the form, before any sales contact"\n'
    )
    (tmp_path / "x.csv").write_text("y,Segment\nyes,a\nno,b\n")
    crm = apply_mapping(load_mapping(_write(tmp_path, text)), tmp_path)
    assert crm.kept_columns == {"segment": "set by the buyer on the form, before any sales contact"}
