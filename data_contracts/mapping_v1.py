"""Version 1 mappings (one export file, a time axis from a number or the rows, outcomes from
a yes/no label), translated into the `Mapping` version 2 uses, so one engine applies both
and a version 1 file reads exactly as it always did."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from data_contracts import mapping_keys as keys
from data_contracts.export_read import ReadOptions
from data_contracts.mapping_readers import (
    MappingError,
    duration,
    get,
    label_rule,
    leakage,
    one_of,
    opt,
    reasons,
    section,
    str_list,
    timestamp,
    unknown_keys,
    value_rule,
)
from data_contracts.mapping_spec import Extra, Mapping, Table, TimeRule, ValueRule
from data_contracts.schemas import REQUIRED_COLUMNS, Lead, vocabulary

_LEAD_SCHEMA = Lead.to_schema()
_DERIVED_FIELDS = ("lead_id", "created_at")  # formed by [lead_id] and [time]


def parse_v1(doc: dict[str, Any], name: str, path: Path | None) -> Mapping:
    """A version 1 document as a `Mapping`: what it always meant, in the new terms."""
    unknown_keys(doc, keys.V1_TOP, "mapping")
    source = section(doc, "source")
    unknown_keys(source, keys.allowed("source"), "source")
    files = str_list(source, "files", "source") or str_list(source, "file", "source")
    if not files:
        raise MappingError("source.file: missing (the export file, relative to the data folder)")
    table = Table(
        name="export",
        files=files,
        read=ReadOptions(
            separator=opt(source, "separator", "source", ",") or ",",
            encoding=opt(source, "encoding", "source", "utf-8") or "utf-8",
            na_values=str_list(source, "na_values", "source"),
            drop_columns=str_list(source, "drop_columns", "source"),
        ),
    )
    lead_id = section(doc, "lead_id")
    unknown_keys(lead_id, keys.allowed("lead_id"), "lead_id")
    if ("from" in lead_id) == bool(lead_id.get("row_number", False)):
        raise MappingError("lead_id: give exactly one of 'from' (a column) or 'row_number = true'")
    time = section(doc, "time")
    unknown_keys(time, keys.allowed("time"), "time")
    created = TimeRule(
        order_by=opt(time, "order_by", "time"),
        row_order="order_by" not in time,
        origin=timestamp(time, "origin", "time") or pd.Timestamp("2020-01-01", tz="UTC"),
        step=duration(time, "step", "time", "1h"),
    )
    label = section(doc, "label")
    unknown_keys(label, keys.allowed("label (version 1)"), "label")

    columns: dict[str, ValueRule] = {}
    for col, spec in section(doc, "columns").items():
        where = f"columns.{col}"
        if col not in _LEAD_SCHEMA.columns or col in _DERIVED_FIELDS:
            hint = " (set it in [lead_id] / [time])" if col in _DERIVED_FIELDS else ""
            raise MappingError(f"{where}: not a contract lead column{hint}")
        if isinstance(spec, dict):
            unknown_keys(spec, keys.allowed("columns.<field> (version 1)"), where)
        allowed = vocabulary(Lead, col)
        rule = value_rule(col, spec, where, None if allowed is None else tuple(allowed))
        columns[col] = replace(rule, default_fills_missing=True)
    for col, col_schema in _LEAD_SCHEMA.columns.items():
        if col not in _DERIVED_FIELDS and not col_schema.nullable and col not in columns:
            raise MappingError(f"columns.{col}: required contract column has no 'from' or 'value'")

    extras: dict[str, Extra] = {}
    for n, spec in section(doc, "extras", required=False).items():
        where = f"extras.{n}"
        if not isinstance(spec, dict):
            raise MappingError(f"{where}: expected a table with from, role, dtype")
        unknown_keys(spec, keys.allowed("extras.<name> (version 1)"), where)
        for key in keys.required("extras.<name> (version 1)"):
            if key not in spec:
                raise MappingError(f"{where}.{key}: missing")
        if n in REQUIRED_COLUMNS["leads"]:
            raise MappingError(f"{where}: name clashes with the contract column {n!r}")
        extras[str(n)] = Extra(
            name=str(n),
            role=one_of(get(spec, "role", str, where), keys.ROLES, f"{where}.role"),
            kind=one_of(get(spec, "dtype", str, where), keys.KINDS, f"{where}.dtype"),
            label="",  # version 1 has no words: features say the column's name
            phrase="",
            column=get(spec, "from", str, where),
            table="export",
        )
    mapping = Mapping(
        name=str(doc.get("name", name)),
        version=1,
        tables={"export": table},
        lead_table="export",
        created_at=created,
        id_column=opt(lead_id, "from", "lead_id"),
        id_prefix=opt(lead_id, "prefix", "lead_id", "") or "",
        columns=columns,
        extras=extras,
        label=label_rule(label),
        excluded=reasons(doc, "excluded"),
        keep=reasons(doc, "keep"),
        extracted_at=timestamp(time, "extracted_at", "time"),
        fill_unnamed=True,
        path=path,
    )
    assert mapping.label is not None
    id_col = {mapping.id_column} if mapping.id_column else set()
    leakage(mapping, also=frozenset({mapping.label.column} | id_col))
    return mapping
