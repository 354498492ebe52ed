"""Check a mapping document key by key and build a `Mapping`; every error names its key.

Version 2 (`version = 2`) reads several tables with joins, real timestamps, stages, events
and worded extras; a file without `version` is version 1, translated by `mapping_v1` into
the same `Mapping`, so one engine applies both. Allowed keys come from `mapping_keys`,
values are checked against the contracts' vocabularies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from data_contracts import mapping_keys as keys
from data_contracts.export_read import FILE_FORMATS, ReadOptions
from data_contracts.mapping_readers import (
    MappingError,
    checked,
    duration,
    escape,
    get,
    label_rule,
    leakage,
    one_of,
    opt,
    phrase_template,
    reasons,
    section,
    str_list,
    timestamp,
    unknown_keys,
    value_rule,
)
from data_contracts.mapping_spec import (
    AccountRule,
    EventRule,
    Extra,
    Join,
    Link,
    Mapping,
    StageRule,
    Table,
    TimeRule,
    ValueRule,
    Where,
)
from data_contracts.mapping_v1 import parse_v1
from data_contracts.schemas import (
    ABSENTABLE_FIELDS,
    ACCOUNT_ABSENTABLE_FIELDS,
    REQUIRED_COLUMNS,
    Account,
    Lead,
    vocabulary,
)
from data_contracts.timestamps import TIME_FORMATS, UnknownTimeZone, check_zone
from data_contracts.vocab import CHANNELS, EVENT_TYPES, REJECT_REASONS, STAGES

__all__ = ["MappingError", "parse_mapping", "parse_v1", "parse_v2"]

_LEAD_SCHEMA = Lead.to_schema()
_DERIVED_FIELDS = ("lead_id", "created_at")  # formed by [leads]


def _table(name: str, spec: Any) -> Table:
    where = f"tables.{name}"
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: expected a table with file, got {spec!r}")
    unknown_keys(spec, keys.allowed("tables.<name>"), where)
    files = str_list(spec, "files", where) or str_list(spec, "file", where)
    if not files:
        raise MappingError(f"{where}.file: missing (the file, relative to the data folder)")
    fmt = opt(spec, "format", where)
    if fmt is not None:
        one_of(fmt, FILE_FORMATS, f"{where}.format")
    time_format = one_of(
        opt(spec, "time_format", where, "iso"), TIME_FORMATS, f"{where}.time_format"
    )
    join = link = None
    if "join" in spec:
        j = checked(spec["join"], "tables.<name>.join", f"{where}.join")
        join = Join(key=get(j, "key", str, f"{where}.join"), on=get(j, "on", str, f"{where}.join"))
    if "link" in spec:
        lw = f"{where}.link"
        lk = checked(spec["link"], "tables.<name>.link", lw)
        through = ("through", "through_key", "through_lead")
        given = [k for k in through if k in lk]
        if given and len(given) != len(through):
            raise MappingError(f"{lw}: give all of {list(through)} to link through an association")
        link = Link(
            column=get(lk, "column", str, lw),
            on=opt(lk, "on", lw),
            through=opt(lk, "through", lw),
            through_key=opt(lk, "through_key", lw),
            through_lead=opt(lk, "through_lead", lw),
        )
    if join and link:
        raise MappingError(
            f"{where}: a table is joined (one row per lead) or linked (many), not both"
        )
    return Table(
        name=name,
        files=files,
        read=ReadOptions(
            separator=opt(spec, "separator", where, ",") or ",",
            encoding=opt(spec, "encoding", where, "utf-8") or "utf-8",
            na_values=str_list(spec, "na_values", where),
            default_na=bool(get(spec, "default_na", bool, where)) if "default_na" in spec else True,
            drop_columns=str_list(spec, "drop_columns", where),
            file_format=fmt,
        ),
        time_format=time_format,
        join=join,
        link=link,
    )


def _time_rule(
    spec: Any, where: str, table: Table, zone: str, *, creation: bool = False
) -> TimeRule:
    if isinstance(spec, str):
        spec = {"from": spec}
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: expected a column name or a table with 'from'")
    unknown_keys(spec, keys.allowed("timestamp rules"), where)
    synthetic = {"order_by", "row_order", "origin", "step"} & set(spec)
    if synthetic and not creation:
        raise MappingError(f"{where}: {sorted(synthetic)} only make a lead's created_at")
    if "timezone" in spec:
        try:
            zone = check_zone(get(spec, "timezone", str, where))
        except UnknownTimeZone as err:
            raise MappingError(f"{where}.timezone: {err}") from None
    if "from" in spec:
        if synthetic:
            raise MappingError(f"{where}: give 'from' (a timestamp column) or order_by/row_order")
        fmt = one_of(spec.get("format", table.time_format), TIME_FORMATS, f"{where}.format")
        return TimeRule(column=get(spec, "from", str, where), format=fmt, zone=zone)
    if creation and (("order_by" in spec) != bool(spec.get("row_order", False))):
        return TimeRule(
            order_by=opt(spec, "order_by", where),
            row_order="order_by" not in spec,
            origin=timestamp(spec, "origin", where) or pd.Timestamp("2020-01-01", tz="UTC"),
            step=duration(spec, "step", where, "1h"),
        )
    hint = " (or order_by / row_order = true, for exports without dates)" if creation else ""
    raise MappingError(f"{where}.from: missing: the column holding the time{hint}")


def _where(spec: Any, where: str) -> Where:
    w = checked(spec, "where", where)
    if ("in" in w) == ("not_in" in w):
        raise MappingError(f"{where}: give exactly one of 'in' or 'not_in'")
    key = "in" if "in" in w else "not_in"
    return Where(
        column=get(w, "column", str, where), keep=str_list(w, key, where), negate=key == "not_in"
    )


def _extra(name: str, spec: Any, tables: dict[str, Table], lead: str, zone: str) -> Extra:
    where = f"extras.{name}"
    s = checked(spec, "extras.<name>", where)
    if name in REQUIRED_COLUMNS["leads"]:
        raise MappingError(f"{where}: name clashes with the contract column {name!r}")
    role = one_of(s["role"], keys.ROLES, f"{where}.role")
    kind = one_of(s["kind"], keys.KINDS, f"{where}.kind")
    label = str(get(s, "label", str, where)).strip()
    if not label:
        raise MappingError(f"{where}.label: give the column's name in words")
    phrase = phrase_template(
        opt(s, "phrase", where) or escape(label) + ": {value}", f"{where}.phrase"
    )
    derive = opt(s, "derive", where)
    if derive is not None:
        one_of(derive, keys.DERIVED, f"{where}.derive")
    table = opt(s, "table", where) or lead
    if table not in tables:
        raise MappingError(f"{where}.table: no table {table!r} in [tables]")
    at: TimeRule | None = None
    if derive == "count":
        if tables[table].link is None:
            raise MappingError(f"{where}.table: a count needs a linked table (many rows per lead)")
        if "at" not in s:
            raise MappingError(
                f"{where}.at: missing: a count is of rows before the lead was created (later "
                "rows are activity after hand-over; events count those point in time)"
            )
        if kind != "numeric":
            raise MappingError(f"{where}.kind: a count is numeric")
        at = _time_rule(s["at"], f"{where}.at", tables[table], zone)
    else:
        if "from" not in s:
            raise MappingError(f"{where}.from: missing")
        if table != lead and tables[table].join is None:
            raise MappingError(f"{where}.table: {table!r} is not the lead table or a joined one")
        if derive == "day_of_week" and kind != "categorical":
            raise MappingError(f"{where}.kind: a day of the week is categorical")
    values = s.get("map", {})
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise MappingError(f"{where}.map: expected a table of export value = words")
    if values and kind != "categorical":
        raise MappingError(f"{where}.map: only a categorical extra maps values to words")
    id_like = opt(s, "id_like", where)
    if id_like is not None and not id_like.strip():
        raise MappingError(f"{where}.id_like: give the reason as a non-empty string")
    if derive in ("day_of_week", "hour"):
        fmt = one_of(s.get("format", tables[table].time_format), TIME_FORMATS, f"{where}.format")
        at = TimeRule(column=opt(s, "from", where), format=fmt, zone=zone)
    return Extra(
        name=name,
        role=role,
        kind=kind,
        label=label,
        phrase=phrase,
        column=opt(s, "from", where),
        table=table,
        values={str(k): str(v) for k, v in values.items()},
        default=opt(s, "default", where),
        derive=derive,
        at=at,
        id_like=id_like,
    )


def _table_ref(name: Any, where: str, tables: dict[str, Table], default: str) -> str:
    table = default if name is None else str(name)
    if table not in tables:
        raise MappingError(f"{where}.table: no table {table!r} in [tables]")
    return table


def _stage(i: int, spec: Any, tables: dict[str, Table], lead: str, zone: str) -> StageRule:
    where = f"stages[{i}]"
    s = checked(spec, "[stages]", where)
    table = _table_ref(s.get("table"), where, tables, lead)
    stage = stage_from = None
    if "stage" in s:
        if "won" in s or "closed" in s:
            raise MappingError(f"{where}: give 'stage' or 'won' with 'closed', not both")
        if isinstance(s["stage"], str):
            stage = one_of(s["stage"], STAGES, f"{where}.stage")
        else:
            stage_from = value_rule("stage", s["stage"], f"{where}.stage", STAGES, columns=False)
            if stage_from.column is None:
                raise MappingError(f"{where}.stage.from: missing")
    elif not ("won" in s and "closed" in s):
        raise MappingError(f"{where}: give 'stage', or 'won' and 'closed' (a deal's flags)")
    reason = None
    if "reason" in s:
        reason = value_rule(
            "reject_reason", s["reason"], f"{where}.reason", REJECT_REASONS, columns=False
        )
    return StageRule(
        table=table,
        at=_time_rule(s["at"], f"{where}.at", tables[table], zone),
        stage=stage,
        stage_from=stage_from,
        won=opt(s, "won", where),
        closed=opt(s, "closed", where),
        where=_where(s["where"], f"{where}.where") if "where" in s else None,
        amount=opt(s, "amount", where),
        reason=reason,
        rating=opt(s, "rating", where),
        index=i,
    )


def _event(i: int, spec: Any, tables: dict[str, Table], zone: str) -> EventRule:
    where = f"events[{i}]"
    s = checked(spec, "[events]", where)
    table = _table_ref(s["table"], where, tables, "")
    kind = value_rule("type", s["type"], f"{where}.type", EVENT_TYPES, columns=False)
    if kind.column is None:
        raise MappingError(f"{where}.type.from: missing")
    channel = None
    if "channel" in s:
        channel = value_rule("channel", s["channel"], f"{where}.channel", CHANNELS)
    return EventRule(
        table=table,
        at=_time_rule(s["at"], f"{where}.at", tables[table], zone),
        type=kind,
        channel=channel,
        campaign=opt(s, "campaign", where),
        where=_where(s["where"], f"{where}.where") if "where" in s else None,
        index=i,
    )


def _accounts(spec: Any, tables: dict[str, Table], lead: str, lead_fields: set[str]) -> AccountRule:
    """`[accounts]`: a table other than the leads', its key, and every account field mapped
    or declared absent (as for leads, so no field is faked)."""
    s = checked(spec, "accounts", "accounts")
    table = _table_ref(s["table"], "accounts", tables, "")
    if table == lead:
        raise MappingError("accounts.table: the lead table holds leads, not accounts")
    if "account_id" not in lead_fields:
        raise MappingError(
            "accounts: the leads' account key is not mapped: set columns.account_id to the "
            "lead column holding it (e.g. a lead-to-account match, a contact's AccountId)"
        )
    absent = str_list(s, "absent", "accounts")
    for f in absent:
        one_of(f, ACCOUNT_ABSENTABLE_FIELDS, "accounts.absent")
    columns: dict[str, ValueRule] = {}
    for col, rule in section(s, "columns", required=False).items():
        where = f"accounts.columns.{col}"
        if col not in keys.ACCOUNT_FIELDS:
            hint = " (the key is accounts.id)" if col == "account_id" else ""
            raise MappingError(f"{where}: not a contract account field{hint}")
        if col in absent:
            raise MappingError(f"{where}: also declared absent in accounts.absent")
        vocab = vocabulary(Account, col)
        columns[col] = value_rule(
            col,
            rule,
            where,
            None if vocab is None else tuple(vocab),
            keys_of="accounts.columns.<field>",
        )
    unnamed = [f for f in keys.ACCOUNT_FIELDS if f not in columns and f not in absent]
    if unnamed:
        raise MappingError(
            f"accounts.columns: account field(s) {unnamed} are neither mapped nor declared "
            "absent (accounts.absent): say which, so no field is faked"
        )
    return AccountRule(
        table=table,
        id_column=get(s, "id", str, "accounts"),
        columns=columns,
        absent=absent,
    )


def _check_references(m: Mapping) -> None:
    """Tables named by rules exist and play the part the rule needs."""
    for name, t in m.tables.items():
        if name == m.lead_table and (t.join or t.link):
            raise MappingError(f"tables.{name}: the lead table is neither joined nor linked")
        if t.link and t.link.through:
            if t.link.through not in m.tables:
                raise MappingError(f"tables.{name}.link.through: no table {t.link.through!r}")
            other = m.tables[t.link.through]
            if other.join or other.link or t.link.through == m.lead_table:
                raise MappingError(
                    f"tables.{name}.link.through: {t.link.through!r} must be a plain association table"
                )
    for field_name, column_rule in m.columns.items():
        table = column_rule.table or m.lead_table
        if table not in m.tables:
            raise MappingError(f"columns.{field_name}.table: no table {table!r} in [tables]")
        if table != m.lead_table and m.tables[table].join is None:
            raise MappingError(
                f"columns.{field_name}.table: {table!r} is not the lead table or a joined one"
            )
    for rule in m.stages:
        t = m.tables[rule.table]
        if rule.table != m.lead_table and not (t.join or t.link):
            raise MappingError(
                f"stages[{rule.index}].table: {rule.table!r} is neither joined nor linked to leads"
            )
    for ev in m.events:
        t = m.tables[ev.table]
        if ev.table != m.lead_table and not (t.join or t.link):
            raise MappingError(
                f"events[{ev.index}].table: {ev.table!r} is neither joined nor linked to leads"
            )


def parse_v2(doc: dict[str, Any], name: str, path: Path | None) -> Mapping:
    unknown_keys(doc, keys.allowed("mapping"), "mapping")
    try:
        zone = check_zone(str(doc.get("timezone", "UTC")))
    except UnknownTimeZone as err:
        raise MappingError(f"timezone: {err}") from None
    tables_doc = section(doc, "tables")
    if not tables_doc:
        raise MappingError("[tables]: declare at least the lead table")
    tables = {str(n): _table(str(n), spec) for n, spec in tables_doc.items()}

    leads = checked(section(doc, "leads"), "leads", "leads")
    lead = _table_ref(leads["table"], "leads", tables, "")
    if ("id" in leads) == bool(leads.get("row_number", False)):
        raise MappingError("leads: give exactly one of 'id' (a column) or 'row_number = true'")
    absent = str_list(leads, "absent", "leads")
    for f in absent:
        one_of(f, ABSENTABLE_FIELDS, "leads.absent")

    columns: dict[str, ValueRule] = {}
    for col, spec in section(doc, "columns", required=False).items():
        where = f"columns.{col}"
        if col not in _LEAD_SCHEMA.columns or col in _DERIVED_FIELDS:
            hint = " (set it in [leads])" if col in _DERIVED_FIELDS else ""
            raise MappingError(f"{where}: not a contract lead field{hint}")
        if col in absent:
            raise MappingError(f"{where}: also declared absent in leads.absent")
        allowed = vocabulary(Lead, col)
        columns[col] = value_rule(col, spec, where, None if allowed is None else tuple(allowed))
    unnamed = [f for f in ABSENTABLE_FIELDS if f not in columns and f not in absent]
    if unnamed:
        raise MappingError(
            f"columns: contract field(s) {unnamed} are neither mapped in [columns] nor "
            "declared absent (leads.absent): say which, so no field is faked"
        )

    stages_doc = doc.get("stages", [])
    events_doc = doc.get("events", [])
    for key, value in (("stages", stages_doc), ("events", events_doc)):
        if not isinstance(value, list):
            raise MappingError(f"{key}: expected an array of tables ([[{key}]])")
    if stages_doc and "label" in doc:
        raise MappingError("label: outcomes come from [[stages]] or from [label], not both")
    mapping = Mapping(
        name=str(doc.get("name", name)),
        version=2,
        tables=tables,
        lead_table=lead,
        created_at=_time_rule(
            leads["created_at"], "leads.created_at", tables[lead], zone, creation=True
        ),
        id_column=opt(leads, "id", "leads"),
        id_prefix=opt(leads, "id_prefix", "leads", "") or "",
        columns=columns,
        absent=absent,
        extras={
            str(n): _extra(str(n), s, tables, lead, zone)
            for n, s in section(doc, "extras", required=False).items()
        },
        stages=tuple(_stage(i, s, tables, lead, zone) for i, s in enumerate(stages_doc)),
        events=tuple(_event(i, s, tables, zone) for i, s in enumerate(events_doc)),
        label=label_rule(section(doc, "label")) if "label" in doc else None,
        excluded=reasons(doc, "excluded"),
        keep=reasons(doc, "keep"),
        accounts=_accounts(doc["accounts"], tables, lead, set(columns))
        if "accounts" in doc
        else None,
        extracted_at=timestamp(doc, "extracted_at", "mapping"),
        zone=zone,
        path=path,
    )
    _check_references(mapping)
    leakage(mapping)
    return mapping


def parse_mapping(doc: dict[str, Any], name: str = "mapping", path: Path | None = None) -> Mapping:
    """Check a parsed TOML document and turn it into a `Mapping`; errors name the key."""
    version = doc.get("version", 1)
    if isinstance(version, bool) or version not in keys.VERSIONS:
        raise MappingError(f"version: {version!r} is not one of {list(keys.VERSIONS)}")
    body = {k: v for k, v in doc.items() if k != "version"}
    return parse_v2(doc, name, path) if version == 2 else parse_v1(body, name, path)
