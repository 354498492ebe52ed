"""Bring your own CRM export: a TOML file maps it onto the contracts, no code needed.

A mapping says which files the export has and how they join (`[tables.<name>]`), which one
holds the leads and how each contract field is filled (`[leads]`, `[columns.<field>]`, or
declared absent), which one holds the accounts the leads belong to (`[accounts]`, optional),
where lifecycle stages and engagement events come from (`[[stages]]`,
`[[events]]`, or a yes/no `[label]` for exports without dates), which other columns are
model inputs with their words (`[extras.<name>]`), which are leakage (`[excluded]`,
recorded in runs) and which inputs the training leakage guard would refuse that a data
scientist keeps, with the reason (`[keep]`, recorded in the run). Every key and what it means: `mapping_keys` (rendered as
`docs/MAPPING.md`); version 1 files (one export file, a label) still load. Keys and
values are checked when the mapping is loaded, so a typo fails early with the key that
holds it; the data are checked by validation, row by row.

This module is the door: `load_mapping`, `apply_mapping`, and `read_crm`, the one place
that chooses between a mapping and a contract-shaped folder.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pandas as pd

from data_contracts.crm_data import CrmData, read_folder
from data_contracts.mapping_accounts import accounts_table
from data_contracts.mapping_apply import (
    FAILURE_KEYS,
    ExportColumnMissing,
    SourceFileMissing,
    extracted_at,
    lead_columns,
    lead_keys,
    lead_origin,
    read_export,
)
from data_contracts.mapping_extras import extra_columns
from data_contracts.mapping_outcomes import events_table, outcomes_table
from data_contracts.mapping_parse import MappingError, parse_mapping
from data_contracts.mapping_spec import Mapping

__all__ = [
    "ExportColumnMissing",
    "Mapping",
    "MappingError",
    "SourceFileMissing",
    "apply_mapping",
    "load_mapping",
    "parse_mapping",
    "read_crm",
    "shipped_mapping",
    "shipped_mappings",
    "shipped_mappings_for",
]


def load_mapping(path: Path) -> Mapping:
    """Read and validate a TOML mapping; a bad file raises `MappingError` naming the key."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise MappingError(f"{path}: not valid TOML: {err}") from err
    try:
        return parse_mapping(doc, name=path.stem, path=path)
    except MappingError as err:
        raise MappingError(f"{path.name}: {err}") from None


def shipped_mappings() -> dict[str, Path]:
    """The mappings packaged with Handoff (`mappings/*.toml`), by name."""
    folder = Path(str(resources.files("data_contracts") / "mappings"))
    return {path.stem: path for path in sorted(folder.glob("*.toml"))}


def shipped_mapping(name: str) -> Path:
    """Path of a mapping packaged with Handoff, e.g. `shipped_mapping("leads_x_education")`."""
    known = shipped_mappings()
    if name not in known:
        raise FileNotFoundError(f"no shipped mapping {name!r}; shipped: {sorted(known)}")
    return known[name]


def shipped_mappings_for(data_dir: Path) -> list[Path]:
    """Shipped mappings whose export files are all in `data_dir`: the ones that would read it."""
    return [
        path
        for path in shipped_mappings().values()
        if all((Path(data_dir) / rel).is_file() for rel in load_mapping(path).files)
    ]


def apply_mapping(mapping: Mapping, data_dir: Path) -> CrmData:
    """Read a foreign export through `mapping` into contract-shaped `CrmData`."""
    export = read_export(mapping, Path(data_dir))
    ids, created = lead_keys(export)
    leads = pd.concat(
        [pd.DataFrame({"lead_id": ids, "created_at": created}), lead_columns(export)], axis=1
    )
    extras, extra_reports = extra_columns(export, created)
    leads = pd.concat([leads, extras], axis=1)
    export.report.extras = extra_reports
    export.report.absent = mapping.absent
    outcomes, outcome_origin = outcomes_table(export, ids, created)
    events, event_origin = events_table(export, ids)
    origin = {"leads": lead_origin(export), "events": event_origin, "outcomes": outcome_origin}
    accounts = accounts_table(export)
    if accounts is not None:
        origin["accounts"] = accounts[1]
    export.settle()
    failures = (
        pd.concat(export.failures, ignore_index=True)
        if export.failures
        else pd.DataFrame({k: pd.Series(dtype=object) for k in FAILURE_KEYS})
    )
    fit = [n for n, e in mapping.extras.items() if e.role == "fit"]
    words = {
        n: {"description": e.label, "phrase": e.phrase}
        for n, e in mapping.extras.items()
        if e.label
    }
    return CrmData(
        leads=leads,
        events=events,
        outcomes=outcomes,
        fit_columns=fit,
        interest_columns=[n for n in mapping.extras if n not in fit],
        excluded_columns=dict(mapping.excluded),
        source=f"mapping:{mapping.name}",
        extracted_at=extracted_at(mapping, Path(data_dir)),
        absent_fields=mapping.absent,
        kept_columns=kept_inputs(mapping),
        extra_words=words,
        conversion_failures=failures,
        origin=origin,
        report=export.report,
        accounts=None if accounts is None else accounts[0],
    )


def kept_inputs(mapping: Mapping) -> dict[str, str]:
    """`[keep]` by lead column, as the leakage guard sees the inputs: an export column
    stands for every extra read from it; an extra's own name stands for itself."""
    kept: dict[str, str] = {}
    for col, reason in mapping.keep.items():
        fed = [n for n, e in mapping.extras.items() if e.column == col and n != col]
        for name in fed or [col]:
            kept[name] = reason
    return kept


def read_crm(data_dir: Path, mapping: Path | None = None) -> CrmData:
    """The one place that chooses how a CRM is read: a foreign export through its TOML
    mapping, or else a contract-shaped folder."""
    if mapping is None:
        return read_folder(data_dir)
    return apply_mapping(load_mapping(Path(mapping)), Path(data_dir))
