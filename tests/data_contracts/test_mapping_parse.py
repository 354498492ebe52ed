"""mapping_parse.py: a version 2 mapping is checked key by key, and each mistake names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_contracts.mapping import MappingError, load_mapping
from data_contracts.mapping_keys import allowed
from tests.data_contracts.conftest import MAPPING


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "m.toml"
    path.write_text(text)
    return load_mapping(path)


def test_parse_v2_reads_tables_joins_links_and_rules(tmp_path: Path) -> None:
    m = _load(tmp_path, MAPPING)
    assert m.version == 2 and m.lead_table == "Lead" and m.zone == "Europe/Berlin"
    assert m.tables["Account"].join is not None and m.tables["Account"].join.on == "AccountKey"
    assert m.tables["deals"].link is not None and m.tables["deals"].link.through == "deal_leads"
    assert m.tables["deals"].time_format == "epoch_ms"
    assert [s.stage or "won/closed" for s in m.stages] == ["mql", "opportunity", "won/closed"]
    assert m.stages[2].at.format == "epoch_ms"  # the table's default format
    assert m.extras["landing"].phrase == "Landing page: {value}"  # from its label
    assert m.files == ("Lead.csv", "Account.csv", "Task.csv", "deals.csv", "deal_leads.csv")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('name = "tiny"', 'name = "tiny"\nsurprise = 1', "mapping: unknown key"),
        ('timezone = "Europe/Berlin"', 'timezone = "Europe/Bonn"', "timezone"),
        (
            'created_at = "CreatedDate"',
            'created_at = { format = "iso" }',
            r"leads\.created_at\.from",
        ),
        ('"phone", "mobile", ', "", r"columns: contract field\(s\) \['phone', 'mobile'\]"),
        (
            '"seniority", "function"]',
            '"seniority", "function", "title"]',
            r"columns\.title: also declared absent",
        ),
        ('stage = "mql"', 'stage = "won"', r"stages\[0\]\.stage"),
        (
            'phrase = "Came in on a {value}"',
            'phrase = "Came in on a {day}"',
            r"extras\.created_dow\.phrase",
        ),
        ('label = "Account headcount"\n', "", r"extras\.account_size\.label: missing"),
        ('kind = "numeric"', 'kind = "number"', r"extras\.account_size\.kind"),
        (', through_lead = "lead" }', " }", r"tables\.deals\.link: give all of"),
        (
            'join = { key = "Id", on = "AccountKey" }',
            'join = { key = "Id" }',
            r"tables\.Account\.join\.on: missing",
        ),
        ('"Web Visit" = "web_visit"', '"Web Visit" = "page_view"', r"events\[0\]\.type\.map"),
        ('Web = "inbound_form"', 'Web = "website"', r"columns\.source\.map"),
        ('Status = "current', 'Email = "current', r"excluded: \['Email'\]"),
        (
            'table = "Task"\nat = "When"',
            'table = "Tasks"\nat = "When"',
            r"events\[0\]\.table: no table 'Tasks'",
        ),
        ("version = 2", "version = 3", "version"),
    ],
)
def test_parse_v2_malformed_names_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    assert old in MAPPING
    with pytest.raises(MappingError, match=key):
        _load(tmp_path, MAPPING.replace(old, new, 1))


def test_parse_v2_label_and_stages_together_refused(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="label: outcomes come from"):
        _load(tmp_path, MAPPING + '\n[label]\nfrom = "Status"\npositive = ["Won"]\n')


def test_parse_v2_count_needs_a_time(tmp_path: Path) -> None:
    extra = '\n[extras.n]\nderive = "count"\ntable = "Task"\nrole = "fit"\nkind = "numeric"\nlabel = "N"\n'
    with pytest.raises(MappingError, match=r"extras\.n\.at: missing: a count is of rows before"):
        _load(tmp_path, MAPPING + extra)


def test_parse_unknown_key_message_lists_the_reference_keys(tmp_path: Path) -> None:
    with pytest.raises(MappingError) as raised:
        _load(tmp_path, MAPPING.replace('file = "Task.csv"', 'file = "Task.csv"\nsheet = 1'))
    assert str(sorted(allowed("tables.<name>"))) in str(raised.value)


def test_parse_v2_a_column_both_excluded_and_kept_is_refused(tmp_path: Path) -> None:
    text = MAPPING + '\n[keep]\nStatus = "set at hand-off"\n'
    with pytest.raises(MappingError, match=r"keep: \['Status'\] are both excluded"):
        _load(tmp_path, text)
