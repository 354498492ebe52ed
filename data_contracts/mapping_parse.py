"""Check a mapping document key by key and build a `Mapping`; every error names its key.

Version 2 (`version = 2`) reads several tables with joins, real timestamps, stages, events
and worded extras; a file without `version` is version 1 and is translated here into the
same `Mapping` (one table, a time axis from a number or the rows, outcomes from a label),
so one engine applies both. Allowed keys come from `mapping_keys`, values are checked
against the contracts' vocabularies.
"""

from __future__ import annotations

import string
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from data_contracts import mapping_keys as keys
from data_contracts.export_read import FILE_FORMATS, ReadOptions
from data_contracts.mapping_spec import (
    EventRule,
    Extra,
    Join,
    LabelRule,
    Link,
    Mapping,
    StageRule,
    Table,
    TimeRule,
    ValueRule,
    Where,
)
from data_contracts.schemas import ABSENTABLE_FIELDS, REQUIRED_COLUMNS, Lead, vocabulary
from data_contracts.timestamps import TIME_FORMATS, UnknownTimeZone, check_zone
from data_contracts.vocab import CHANNELS, EVENT_TYPES, REJECT_REASONS, STAGES

_LEAD_SCHEMA = Lead.to_schema()
_DERIVED_FIELDS = ("lead_id", "created_at")  # formed by [leads] (v1: [lead_id], [time])
_PHRASE_FIELDS = frozenset({"value", "Value", "description"})


class MappingError(ValueError):
    """A mapping file that can't be used; the message names the offending key."""


# -- small readers: each names the key it reads --------------------------------------------


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, (int,))):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise MappingError(f"{where}.{key}: expected {names}, got {value!r}")
    return value


def _opt(table: dict[str, Any], key: str, where: str, default: str | None = None) -> str | None:
    return str(_get(table, key, str, where)) if key in table else default


def _str_list(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    if key not in table:
        return ()
    value = table[key]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | bool) for v in value):
        raise MappingError(f"{where}.{key}: expected a list of strings, got {value!r}")
    return tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in value)


def _section(doc: dict[str, Any], key: str, required: bool = True) -> dict[str, Any]:
    if key not in doc:
        if required:
            raise MappingError(f"[{key}]: missing required section")
        return {}
    return _get(doc, key, dict, "mapping")  # type: ignore[no-any-return]


def _unknown_keys(table: dict[str, Any], allowed: frozenset[str] | set[str], where: str) -> None:
    extra = sorted(set(table) - set(allowed))
    if extra:
        raise MappingError(f"{where}: unknown key(s) {extra}; allowed: {sorted(allowed)}")


def _checked(table: Any, section: str, where: str) -> dict[str, Any]:
    """`table` as a dict with only the section's keys, and its required ones present."""
    if not isinstance(table, dict):
        raise MappingError(f"{where}: expected a table, got {table!r}")
    _unknown_keys(table, keys.allowed(section), where)
    for key in keys.required(section):
        if key not in table:
            raise MappingError(f"{where}.{key}: missing")
    return table


def _duration(table: dict[str, Any], key: str, where: str, default: str) -> pd.Timedelta:
    text = table.get(key, default)
    try:
        value = pd.Timedelta(text)
    except (ValueError, TypeError) as err:
        raise MappingError(
            f"{where}.{key}: not a duration like '15min' or '14D': {text!r}"
        ) from err
    if value < pd.Timedelta(0):
        raise MappingError(f"{where}.{key}: must not be negative: {text!r}")
    return value


def _timestamp(table: dict[str, Any], key: str, where: str) -> pd.Timestamp | None:
    if key not in table:
        return None
    try:
        stamp = pd.Timestamp(_get(table, key, str, where))
    except ValueError as err:
        raise MappingError(f"{where}.{key}: not an ISO timestamp: {table[key]!r}") from err
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _one_of(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise MappingError(f"{where}: {value!r} is not one of {list(allowed)}")
    return str(value)


def _check_value(column: str, value: Any, where: str) -> None:
    allowed = vocabulary(Lead, column)
    if allowed is not None and value is not None and value not in allowed:
        raise MappingError(f"{where}: {value!r} is not an allowed {column}: {list(allowed)}")


def _reasons(doc: dict[str, Any], key: str) -> dict[str, str]:
    table = _section(doc, key, required=False)
    for col, reason in table.items():
        if not isinstance(reason, str) or not reason.strip():
            raise MappingError(f"{key}.{col!r}: give the reason as a non-empty string")
    return {str(k): str(v) for k, v in table.items()}


def _phrase(text: str, where: str) -> str:
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as err:
        raise MappingError(f"{where}: not a phrase template ({err}): {text!r}") from err
    unknown = sorted(fields - _PHRASE_FIELDS)
    if unknown:
        raise MappingError(
            f"{where}: unknown field(s) {unknown} in {text!r}; use {sorted(_PHRASE_FIELDS)}"
        )
    return text


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


# -- version 2 ----------------------------------------------------------------------------


def _table(name: str, spec: Any) -> Table:
    where = f"tables.{name}"
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: expected a table with file, got {spec!r}")
    _unknown_keys(spec, keys.allowed("tables.<name>"), where)
    files = _str_list(spec, "files", where) or _str_list(spec, "file", where)
    if not files:
        raise MappingError(f"{where}.file: missing (the file, relative to the data folder)")
    fmt = _opt(spec, "format", where)
    if fmt is not None:
        _one_of(fmt, FILE_FORMATS, f"{where}.format")
    time_format = _one_of(
        _opt(spec, "time_format", where, "iso"), TIME_FORMATS, f"{where}.time_format"
    )
    join = link = None
    if "join" in spec:
        j = _checked(spec["join"], "tables.<name>.join", f"{where}.join")
        join = Join(
            key=_get(j, "key", str, f"{where}.join"), on=_get(j, "on", str, f"{where}.join")
        )
    if "link" in spec:
        lw = f"{where}.link"
        lk = _checked(spec["link"], "tables.<name>.link", lw)
        through = ("through", "through_key", "through_lead")
        given = [k for k in through if k in lk]
        if given and len(given) != len(through):
            raise MappingError(f"{lw}: give all of {list(through)} to link through an association")
        link = Link(
            column=_get(lk, "column", str, lw),
            on=_opt(lk, "on", lw),
            through=_opt(lk, "through", lw),
            through_key=_opt(lk, "through_key", lw),
            through_lead=_opt(lk, "through_lead", lw),
        )
    if join and link:
        raise MappingError(
            f"{where}: a table is joined (one row per lead) or linked (many), not both"
        )
    return Table(
        name=name,
        files=files,
        read=ReadOptions(
            separator=_opt(spec, "separator", where, ",") or ",",
            encoding=_opt(spec, "encoding", where, "utf-8") or "utf-8",
            na_values=_str_list(spec, "na_values", where),
            default_na=bool(_get(spec, "default_na", bool, where))
            if "default_na" in spec
            else True,
            drop_columns=_str_list(spec, "drop_columns", where),
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
    _unknown_keys(spec, keys.allowed("timestamp rules"), where)
    synthetic = {"order_by", "row_order", "origin", "step"} & set(spec)
    if synthetic and not creation:
        raise MappingError(f"{where}: {sorted(synthetic)} only make a lead's created_at")
    if "timezone" in spec:
        try:
            zone = check_zone(_get(spec, "timezone", str, where))
        except UnknownTimeZone as err:
            raise MappingError(f"{where}.timezone: {err}") from None
    if "from" in spec:
        if synthetic:
            raise MappingError(f"{where}: give 'from' (a timestamp column) or order_by/row_order")
        fmt = _one_of(spec.get("format", table.time_format), TIME_FORMATS, f"{where}.format")
        return TimeRule(column=_get(spec, "from", str, where), format=fmt, zone=zone)
    if creation and (("order_by" in spec) != bool(spec.get("row_order", False))):
        return TimeRule(
            order_by=_opt(spec, "order_by", where),
            row_order="order_by" not in spec,
            origin=_timestamp(spec, "origin", where) or pd.Timestamp("2020-01-01", tz="UTC"),
            step=_duration(spec, "step", where, "1h"),
        )
    hint = " (or order_by / row_order = true, for exports without dates)" if creation else ""
    raise MappingError(f"{where}.from: missing: the column holding the time{hint}")


def _value_rule(
    name: str, spec: Any, where: str, allowed: tuple[str, ...] | None, *, columns: bool = True
) -> ValueRule:
    """A `{from, table, value, map, default, missing}` rule; map targets in `allowed`."""
    if isinstance(spec, str):
        spec = {"from": spec}
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: expected a table or a source column name, got {spec!r}")
    _unknown_keys(
        spec, keys.allowed("columns.<field>") if columns else {"from", "map", "default"}, where
    )
    if ("from" in spec) == ("value" in spec):
        raise MappingError(f"{where}: give exactly one of 'from' (source column) or 'value'")
    values = spec.get("map", {})
    if not isinstance(values, dict):
        raise MappingError(f"{where}.map: expected a table of source value = contract value")

    def check(value: Any, at: str) -> None:
        if allowed is not None and value is not None and value not in allowed:
            raise MappingError(f"{at}: {value!r} is not an allowed {name}: {list(allowed)}")

    for key, target in values.items():
        check(target, f"{where}.map.{key!r}")
    for key in ("value", "default", "missing"):
        if key in spec:
            check(spec[key], f"{where}.{key}")
    return ValueRule(
        column=_get(spec, "from", str, where) if "from" in spec else None,
        table=_opt(spec, "table", where),
        value=spec.get("value"),
        values={str(k): v for k, v in values.items()},
        default=spec.get("default"),
        missing=spec.get("missing"),
    )


def _where(spec: Any, where: str) -> Where:
    w = _checked(spec, "where", where)
    if ("in" in w) == ("not_in" in w):
        raise MappingError(f"{where}: give exactly one of 'in' or 'not_in'")
    key = "in" if "in" in w else "not_in"
    return Where(
        column=_get(w, "column", str, where), keep=_str_list(w, key, where), negate=key == "not_in"
    )


def _extra(name: str, spec: Any, tables: dict[str, Table], lead: str, zone: str) -> Extra:
    where = f"extras.{name}"
    s = _checked(spec, "extras.<name>", where)
    if name in REQUIRED_COLUMNS["leads"]:
        raise MappingError(f"{where}: name clashes with the contract column {name!r}")
    role = _one_of(s["role"], keys.ROLES, f"{where}.role")
    kind = _one_of(s["kind"], keys.KINDS, f"{where}.kind")
    label = str(_get(s, "label", str, where)).strip()
    if not label:
        raise MappingError(f"{where}.label: give the column's name in words")
    phrase = _phrase(_opt(s, "phrase", where) or _escape(label) + ": {value}", f"{where}.phrase")
    derive = _opt(s, "derive", where)
    if derive is not None:
        _one_of(derive, keys.DERIVED, f"{where}.derive")
    table = _opt(s, "table", where) or lead
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
    id_like = _opt(s, "id_like", where)
    if id_like is not None and not id_like.strip():
        raise MappingError(f"{where}.id_like: give the reason as a non-empty string")
    if derive in ("day_of_week", "hour"):
        fmt = _one_of(s.get("format", tables[table].time_format), TIME_FORMATS, f"{where}.format")
        at = TimeRule(column=_opt(s, "from", where), format=fmt, zone=zone)
    return Extra(
        name=name,
        role=role,
        kind=kind,
        label=label,
        phrase=phrase,
        column=_opt(s, "from", where),
        table=table,
        values={str(k): str(v) for k, v in values.items()},
        default=_opt(s, "default", where),
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
    s = _checked(spec, "[stages]", where)
    table = _table_ref(s.get("table"), where, tables, lead)
    stage = stage_from = None
    if "stage" in s:
        if "won" in s or "closed" in s:
            raise MappingError(f"{where}: give 'stage' or 'won' with 'closed', not both")
        if isinstance(s["stage"], str):
            stage = _one_of(s["stage"], STAGES, f"{where}.stage")
        else:
            stage_from = _value_rule("stage", s["stage"], f"{where}.stage", STAGES, columns=False)
            if stage_from.column is None:
                raise MappingError(f"{where}.stage.from: missing")
    elif not ("won" in s and "closed" in s):
        raise MappingError(f"{where}: give 'stage', or 'won' and 'closed' (a deal's flags)")
    reason = None
    if "reason" in s:
        reason = _value_rule(
            "reject_reason", s["reason"], f"{where}.reason", REJECT_REASONS, columns=False
        )
    return StageRule(
        table=table,
        at=_time_rule(s["at"], f"{where}.at", tables[table], zone),
        stage=stage,
        stage_from=stage_from,
        won=_opt(s, "won", where),
        closed=_opt(s, "closed", where),
        where=_where(s["where"], f"{where}.where") if "where" in s else None,
        amount=_opt(s, "amount", where),
        reason=reason,
        rating=_opt(s, "rating", where),
        index=i,
    )


def _event(i: int, spec: Any, tables: dict[str, Table], zone: str) -> EventRule:
    where = f"events[{i}]"
    s = _checked(spec, "[events]", where)
    table = _table_ref(s["table"], where, tables, "")
    kind = _value_rule("type", s["type"], f"{where}.type", EVENT_TYPES, columns=False)
    if kind.column is None:
        raise MappingError(f"{where}.type.from: missing")
    channel = None
    if "channel" in s:
        channel = _value_rule("channel", s["channel"], f"{where}.channel", CHANNELS)
    return EventRule(
        table=table,
        at=_time_rule(s["at"], f"{where}.at", tables[table], zone),
        type=kind,
        channel=channel,
        campaign=_opt(s, "campaign", where),
        where=_where(s["where"], f"{where}.where") if "where" in s else None,
        index=i,
    )


def _label(label: dict[str, Any], where: str = "label") -> LabelRule:
    if "from" not in label:
        raise MappingError(f"{where}.from: missing (the column saying whether the lead converted)")
    positive = _str_list(label, "positive", where)
    if not positive:
        raise MappingError(f"{where}.positive: missing (values of {where}.from meaning won)")
    return LabelRule(
        column=_get(label, "from", str, where),
        positive=positive,
        won_after=_duration(label, "won_after", where, "30D"),
        lost_after=_duration(label, "lost_after", where, "30D"),
        mql=bool(_get(label, "mql", bool, where)) if "mql" in label else True,
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


def _inputs(m: Mapping) -> set[str]:
    used = {r.column for r in m.columns.values() if r.column}
    return used | {e.column for e in m.extras.values() if e.column}


def _leakage(m: Mapping, also: frozenset[str] = frozenset()) -> None:
    both = sorted(set(m.excluded) & set(m.keep))
    if both:
        raise MappingError(f"keep: {both} are both excluded as leakage and kept")
    leaking = sorted((_inputs(m) | also) & set(m.excluded))
    if leaking:
        raise MappingError(f"excluded: {leaking} are excluded as leakage but also used as input")


def parse_v2(doc: dict[str, Any], name: str, path: Path | None) -> Mapping:
    _unknown_keys(doc, keys.allowed("mapping"), "mapping")
    try:
        zone = check_zone(str(doc.get("timezone", "UTC")))
    except UnknownTimeZone as err:
        raise MappingError(f"timezone: {err}") from None
    tables_doc = _section(doc, "tables")
    if not tables_doc:
        raise MappingError("[tables]: declare at least the lead table")
    tables = {str(n): _table(str(n), spec) for n, spec in tables_doc.items()}

    leads = _checked(_section(doc, "leads"), "leads", "leads")
    lead = _table_ref(leads["table"], "leads", tables, "")
    if ("id" in leads) == bool(leads.get("row_number", False)):
        raise MappingError("leads: give exactly one of 'id' (a column) or 'row_number = true'")
    absent = _str_list(leads, "absent", "leads")
    for f in absent:
        _one_of(f, ABSENTABLE_FIELDS, "leads.absent")

    columns: dict[str, ValueRule] = {}
    for col, spec in _section(doc, "columns", required=False).items():
        where = f"columns.{col}"
        if col not in _LEAD_SCHEMA.columns or col in _DERIVED_FIELDS:
            hint = " (set it in [leads])" if col in _DERIVED_FIELDS else ""
            raise MappingError(f"{where}: not a contract lead field{hint}")
        if col in absent:
            raise MappingError(f"{where}: also declared absent in leads.absent")
        allowed = vocabulary(Lead, col)
        columns[col] = _value_rule(col, spec, where, None if allowed is None else tuple(allowed))
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
        id_column=_opt(leads, "id", "leads"),
        id_prefix=_opt(leads, "id_prefix", "leads", "") or "",
        columns=columns,
        absent=absent,
        extras={
            str(n): _extra(str(n), s, tables, lead, zone)
            for n, s in _section(doc, "extras", required=False).items()
        },
        stages=tuple(_stage(i, s, tables, lead, zone) for i, s in enumerate(stages_doc)),
        events=tuple(_event(i, s, tables, zone) for i, s in enumerate(events_doc)),
        label=_label(_section(doc, "label")) if "label" in doc else None,
        excluded=_reasons(doc, "excluded"),
        keep=_reasons(doc, "keep"),
        extracted_at=_timestamp(doc, "extracted_at", "mapping"),
        zone=zone,
        path=path,
    )
    _check_references(mapping)
    _leakage(mapping)
    return mapping


# -- version 1 ----------------------------------------------------------------------------


def parse_v1(doc: dict[str, Any], name: str, path: Path | None) -> Mapping:
    """A version 1 document as a `Mapping`: what it always meant, in the new terms."""
    _unknown_keys(doc, keys.V1_TOP, "mapping")
    source = _section(doc, "source")
    _unknown_keys(source, keys.allowed("source"), "source")
    files = _str_list(source, "files", "source") or _str_list(source, "file", "source")
    if not files:
        raise MappingError("source.file: missing (the export file, relative to the data folder)")
    table = Table(
        name="export",
        files=files,
        read=ReadOptions(
            separator=_opt(source, "separator", "source", ",") or ",",
            encoding=_opt(source, "encoding", "source", "utf-8") or "utf-8",
            na_values=_str_list(source, "na_values", "source"),
            drop_columns=_str_list(source, "drop_columns", "source"),
        ),
    )
    lead_id = _section(doc, "lead_id")
    _unknown_keys(lead_id, keys.allowed("lead_id"), "lead_id")
    if ("from" in lead_id) == bool(lead_id.get("row_number", False)):
        raise MappingError("lead_id: give exactly one of 'from' (a column) or 'row_number = true'")
    time = _section(doc, "time")
    _unknown_keys(time, keys.allowed("time"), "time")
    created = TimeRule(
        order_by=_opt(time, "order_by", "time"),
        row_order="order_by" not in time,
        origin=_timestamp(time, "origin", "time") or pd.Timestamp("2020-01-01", tz="UTC"),
        step=_duration(time, "step", "time", "1h"),
    )
    label = _section(doc, "label")
    _unknown_keys(label, keys.allowed("label (version 1)"), "label")

    columns: dict[str, ValueRule] = {}
    for col, spec in _section(doc, "columns").items():
        where = f"columns.{col}"
        if col not in _LEAD_SCHEMA.columns or col in _DERIVED_FIELDS:
            hint = " (set it in [lead_id] / [time])" if col in _DERIVED_FIELDS else ""
            raise MappingError(f"{where}: not a contract lead column{hint}")
        if isinstance(spec, dict):
            _unknown_keys(spec, keys.allowed("columns.<field> (version 1)"), where)
        allowed = vocabulary(Lead, col)
        rule = _value_rule(col, spec, where, None if allowed is None else tuple(allowed))
        columns[col] = replace(rule, default_fills_missing=True)
    for col, col_schema in _LEAD_SCHEMA.columns.items():
        if col not in _DERIVED_FIELDS and not col_schema.nullable and col not in columns:
            raise MappingError(f"columns.{col}: required contract column has no 'from' or 'value'")

    extras: dict[str, Extra] = {}
    for n, spec in _section(doc, "extras", required=False).items():
        where = f"extras.{n}"
        if not isinstance(spec, dict):
            raise MappingError(f"{where}: expected a table with from, role, dtype")
        _unknown_keys(spec, keys.allowed("extras.<name> (version 1)"), where)
        for key in keys.required("extras.<name> (version 1)"):
            if key not in spec:
                raise MappingError(f"{where}.{key}: missing")
        if n in REQUIRED_COLUMNS["leads"]:
            raise MappingError(f"{where}: name clashes with the contract column {n!r}")
        extras[str(n)] = Extra(
            name=str(n),
            role=_one_of(_get(spec, "role", str, where), keys.ROLES, f"{where}.role"),
            kind=_one_of(_get(spec, "dtype", str, where), keys.KINDS, f"{where}.dtype"),
            label="",  # version 1 has no words: features say the column's name
            phrase="",
            column=_get(spec, "from", str, where),
            table="export",
        )
    mapping = Mapping(
        name=str(doc.get("name", name)),
        version=1,
        tables={"export": table},
        lead_table="export",
        created_at=created,
        id_column=_opt(lead_id, "from", "lead_id"),
        id_prefix=_opt(lead_id, "prefix", "lead_id", "") or "",
        columns=columns,
        extras=extras,
        label=_label(label),
        excluded=_reasons(doc, "excluded"),
        extracted_at=_timestamp(time, "extracted_at", "time"),
        fill_unnamed=True,
        path=path,
    )
    assert mapping.label is not None
    id_col = {mapping.id_column} if mapping.id_column else set()
    _leakage(mapping, also=frozenset({mapping.label.column} | id_col))
    return mapping


def parse_mapping(doc: dict[str, Any], name: str = "mapping", path: Path | None = None) -> Mapping:
    """Check a parsed TOML document and turn it into a `Mapping`; errors name the key."""
    version = doc.get("version", 1)
    if isinstance(version, bool) or version not in keys.VERSIONS:
        raise MappingError(f"version: {version!r} is not one of {list(keys.VERSIONS)}")
    body = {k: v for k, v in doc.items() if k != "version"}
    return parse_v2(doc, name, path) if version == 2 else parse_v1(body, name, path)
