"""The readers a mapping parser is made of: each reads one kind of value and names its key.

Shared by the version 2 parser (`mapping_parse`) and the version 1 translation
(`mapping_v1`), so both refuse a bad value in the same words.
"""

from __future__ import annotations

import string
from typing import Any

import pandas as pd

from data_contracts import mapping_keys as keys
from data_contracts.mapping_spec import LabelRule, Mapping, ValueRule
from data_contracts.schemas import Lead, vocabulary

PHRASE_FIELDS = frozenset({"value", "Value", "description"})


class MappingError(ValueError):
    """A mapping file that can't be used; the message names the offending key."""


# -- small readers: each names the key it reads --------------------------------------------


def get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, (int,))):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise MappingError(f"{where}.{key}: expected {names}, got {value!r}")
    return value


def opt(table: dict[str, Any], key: str, where: str, default: str | None = None) -> str | None:
    return str(get(table, key, str, where)) if key in table else default


def str_list(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    if key not in table:
        return ()
    value = table[key]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | bool) for v in value):
        raise MappingError(f"{where}.{key}: expected a list of strings, got {value!r}")
    return tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in value)


def section(doc: dict[str, Any], key: str, required: bool = True) -> dict[str, Any]:
    if key not in doc:
        if required:
            raise MappingError(f"[{key}]: missing required section")
        return {}
    return get(doc, key, dict, "mapping")  # type: ignore[no-any-return]


def unknown_keys(table: dict[str, Any], allowed: frozenset[str] | set[str], where: str) -> None:
    extra = sorted(set(table) - set(allowed))
    if extra:
        raise MappingError(f"{where}: unknown key(s) {extra}; allowed: {sorted(allowed)}")


def checked(table: Any, section: str, where: str) -> dict[str, Any]:
    """`table` as a dict with only the section's keys, and its required ones present."""
    if not isinstance(table, dict):
        raise MappingError(f"{where}: expected a table, got {table!r}")
    unknown_keys(table, keys.allowed(section), where)
    for key in keys.required(section):
        if key not in table:
            raise MappingError(f"{where}.{key}: missing")
    return table


def duration(table: dict[str, Any], key: str, where: str, default: str) -> pd.Timedelta:
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


def timestamp(table: dict[str, Any], key: str, where: str) -> pd.Timestamp | None:
    if key not in table:
        return None
    try:
        stamp = pd.Timestamp(get(table, key, str, where))
    except ValueError as err:
        raise MappingError(f"{where}.{key}: not an ISO timestamp: {table[key]!r}") from err
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def one_of(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise MappingError(f"{where}: {value!r} is not one of {list(allowed)}")
    return str(value)


def check_value(column: str, value: Any, where: str) -> None:
    allowed = vocabulary(Lead, column)
    if allowed is not None and value is not None and value not in allowed:
        raise MappingError(f"{where}: {value!r} is not an allowed {column}: {list(allowed)}")


def reasons(doc: dict[str, Any], key: str) -> dict[str, str]:
    """`[excluded]` / `[keep]`: column = "reason", each reason non-empty."""
    table = section(doc, key, required=False)
    for col, reason in table.items():
        if not isinstance(reason, str) or not reason.strip():
            raise MappingError(f"{key}.{col!r}: give the reason as a non-empty string")
    return {str(k): str(v).strip() if key == "keep" else str(v) for k, v in table.items()}


def phrase_template(text: str, where: str) -> str:
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as err:
        raise MappingError(f"{where}: not a phrase template ({err}): {text!r}") from err
    unknown = sorted(fields - PHRASE_FIELDS)
    if unknown:
        raise MappingError(
            f"{where}: unknown field(s) {unknown} in {text!r}; use {sorted(PHRASE_FIELDS)}"
        )
    return text


def escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def value_rule(
    name: str,
    spec: Any,
    where: str,
    allowed: tuple[str, ...] | None,
    *,
    columns: bool = True,
    keys_of: str = "columns.<field>",
) -> ValueRule:
    """A `{from, table, value, map, default, missing}` rule (the keys of section `keys_of`;
    `columns=False`: only from, map, default); map targets in `allowed`."""
    if isinstance(spec, str):
        spec = {"from": spec}
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: expected a table or a source column name, got {spec!r}")
    unknown_keys(spec, keys.allowed(keys_of) if columns else {"from", "map", "default"}, where)
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
        column=get(spec, "from", str, where) if "from" in spec else None,
        table=opt(spec, "table", where),
        value=spec.get("value"),
        values={str(k): v for k, v in values.items()},
        default=spec.get("default"),
        missing=spec.get("missing"),
    )


def label_rule(label: dict[str, Any], where: str = "label") -> LabelRule:
    if "from" not in label:
        raise MappingError(f"{where}.from: missing (the column saying whether the lead converted)")
    positive = str_list(label, "positive", where)
    if not positive:
        raise MappingError(f"{where}.positive: missing (values of {where}.from meaning won)")
    return LabelRule(
        column=get(label, "from", str, where),
        positive=positive,
        won_after=duration(label, "won_after", where, "30D"),
        lost_after=duration(label, "lost_after", where, "30D"),
        mql=bool(get(label, "mql", bool, where)) if "mql" in label else True,
    )


def inputs(m: Mapping) -> set[str]:
    used = {r.column for r in m.columns.values() if r.column}
    return used | {e.column for e in m.extras.values() if e.column}


def leakage(m: Mapping, also: frozenset[str] = frozenset()) -> None:
    both = sorted(set(m.excluded) & set(m.keep))
    if both:
        raise MappingError(f"keep: {both} are both excluded as leakage and kept")
    leaking = sorted((inputs(m) | also) & set(m.excluded))
    if leaking:
        raise MappingError(f"excluded: {leaking} are excluded as leakage but also used as input")
