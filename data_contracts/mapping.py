"""Bring your own CRM export: a TOML file maps it onto the contracts, no code needed.

A mapping declares where the export is and how to read it (`[source]`), how each contract
lead column is filled (`[columns.<name>]`: from a source column, optionally through a value
map with a default, or a constant), how the lead id and `created_at` are formed (`[lead_id]`,
`[time]`), how outcomes follow from a label column (`[label]`), which extra columns to keep
as model inputs with a role (`[extras.<name>]`), and which columns are leakage and must be
dropped, with the reason (`[excluded]`; recorded in `CrmData.excluded_columns` for runs),
and which inputs the training leakage guard would exclude that a data scientist keeps, with
the reason (`[keep]`: column = "reason"; recorded in the run and shown to the reviewers).
Allowed values are checked against `schemas.py` when the mapping is loaded, so a typo fails
early with the key that holds it. See `mappings/leads_x_education.toml` for a full example.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.crm_data import CrmData, read_folder
from data_contracts.schemas import REQUIRED_COLUMNS, Lead, vocabulary

_LEAD_SCHEMA = Lead.to_schema()
_DERIVED = ("lead_id", "created_at")  # formed by [lead_id] and [time], not [columns]
ROLES = ("fit", "interest")
DTYPES = ("numeric", "categorical")


class MappingError(ValueError):
    """A mapping file that can't be used; the message names the offending key."""


class SourceFileMissing(FileNotFoundError):
    """A mapping pointed at a folder that does not hold its export file."""

    def __init__(self, mapping: str, file: str, data_dir: Path) -> None:
        self.mapping, self.file, self.data_dir = mapping, file, Path(data_dir)
        super().__init__(f"mapping {mapping}: no source file {file} in {data_dir}")


@dataclass(frozen=True)
class ColumnRule:
    """How one contract column is filled: from a source column (mapped) or a constant."""

    source: str | None = None
    value: Any = None
    values: dict[str, Any] = field(default_factory=dict)
    default: Any = None
    missing: Any = None


@dataclass(frozen=True)
class Extra:
    """A source column kept as a model input with its role and kind."""

    source: str
    role: str
    dtype: str


@dataclass(frozen=True)
class Mapping:
    """A validated mapping; build it with `load_mapping`."""

    name: str
    files: tuple[str, ...]
    separator: str = ","
    encoding: str = "utf-8"
    drop_columns: tuple[str, ...] = ()
    na_values: tuple[str, ...] = ()
    id_column: str | None = None
    id_prefix: str = ""
    time_origin: pd.Timestamp = field(default_factory=lambda: pd.Timestamp("2020-01-01", tz="UTC"))
    time_step: pd.Timedelta = field(default_factory=lambda: pd.Timedelta(hours=1))
    time_order: str | None = None  # source column; None = row order
    # When the export was taken. A final label (the export is long after the last lead)
    # says so here, or the last horizon's worth of leads is censored as undecided.
    extracted_at: pd.Timestamp | None = None
    label_column: str = ""
    label_positive: tuple[str, ...] = ()
    won_after: pd.Timedelta = field(default_factory=lambda: pd.Timedelta(days=30))
    lost_after: pd.Timedelta = field(default_factory=lambda: pd.Timedelta(days=30))
    mql_outcome: bool = True
    columns: dict[str, ColumnRule] = field(default_factory=dict)
    extras: dict[str, Extra] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)
    keep: dict[str, str] = field(default_factory=dict)
    path: Path | None = None


def _allowed(column: str) -> list[str] | None:
    """Allowed values of a contract column, read from its pandera `isin` check."""
    allowed = vocabulary(Lead, column)
    return None if allowed is None else list(allowed)


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = table[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise MappingError(f"{where}.{key}: expected {names}, got {value!r}")
    return value


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


def _unknown_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise MappingError(f"{where}: unknown key(s) {extra}; allowed: {sorted(allowed)}")


def _check_value(column: str, value: Any, where: str) -> None:
    allowed = _allowed(column)
    if allowed is not None and value is not None and value not in allowed:
        raise MappingError(f"{where}: {value!r} is not an allowed {column}: {allowed}")


def _column_rule(name: str, spec: Any) -> ColumnRule:
    where = f"columns.{name}"
    if name not in _LEAD_SCHEMA.columns or name in _DERIVED:
        hint = " (set it in [lead_id] / [time])" if name in _DERIVED else ""
        raise MappingError(f"{where}: not a contract lead column{hint}")
    if isinstance(spec, str):  # shorthand: columns.country = "Country"
        spec = {"from": spec}
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: expected a table or a source column name, got {spec!r}")
    _unknown_keys(spec, {"from", "value", "map", "default", "missing"}, where)
    if ("from" in spec) == ("value" in spec):
        raise MappingError(f"{where}: give exactly one of 'from' (source column) or 'value'")
    values = spec.get("map", {})
    if not isinstance(values, dict):
        raise MappingError(f"{where}.map: expected a table of source value = contract value")
    for key, target in values.items():
        _check_value(name, target, f"{where}.map.{key!r}")
    for key in ("value", "default", "missing"):
        if key in spec:
            _check_value(name, spec[key], f"{where}.{key}")
    return ColumnRule(
        source=_get(spec, "from", str, where) if "from" in spec else None,
        value=spec.get("value"),
        values={str(k): v for k, v in values.items()},
        default=spec.get("default"),
        missing=spec.get("missing"),
    )


def _extra(name: str, spec: Any) -> Extra:
    where = f"extras.{name}"
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: expected a table with from, role, dtype")
    _unknown_keys(spec, {"from", "role", "dtype"}, where)
    for key in ("from", "role", "dtype"):
        if key not in spec:
            raise MappingError(f"{where}.{key}: missing")
    if name in REQUIRED_COLUMNS["leads"]:
        raise MappingError(f"{where}: name clashes with the contract column {name!r}")
    role, dtype = _get(spec, "role", str, where), _get(spec, "dtype", str, where)
    if role not in ROLES:
        raise MappingError(f"{where}.role: {role!r} is not one of {list(ROLES)}")
    if dtype not in DTYPES:
        raise MappingError(f"{where}.dtype: {dtype!r} is not one of {list(DTYPES)}")
    return Extra(source=_get(spec, "from", str, where), role=role, dtype=dtype)


def _keep(keep_doc: dict[str, Any], excluded: dict[str, Any]) -> dict[str, str]:
    """`[keep]`: model inputs the leakage guard suspects, kept on purpose, each with why."""
    for col, reason in keep_doc.items():
        if not isinstance(reason, str) or not reason.strip():
            raise MappingError(f"keep.{col!r}: give the reason as a non-empty string")
    both = sorted(set(keep_doc) & set(excluded))
    if both:
        raise MappingError(f"keep: {both} are both kept and excluded as leakage")
    return {str(k): str(v).strip() for k, v in keep_doc.items()}


def parse_mapping(doc: dict[str, Any], name: str = "mapping", path: Path | None = None) -> Mapping:
    """Check a parsed TOML document and turn it into a `Mapping`; errors name the key."""
    _unknown_keys(
        doc,
        {
            "name",
            "description",
            "source",
            "lead_id",
            "time",
            "label",
            "columns",
            "extras",
            "excluded",
            "keep",
        },
        "mapping",
    )
    source = _section(doc, "source")
    _unknown_keys(
        source, {"file", "files", "separator", "encoding", "drop_columns", "na_values"}, "source"
    )
    files = _str_list(source, "files", "source") or _str_list(source, "file", "source")
    if not files:
        raise MappingError("source.file: missing (the export file, relative to the data folder)")

    lead_id = _section(doc, "lead_id")
    _unknown_keys(lead_id, {"from", "row_number", "prefix"}, "lead_id")
    if ("from" in lead_id) == bool(lead_id.get("row_number", False)):
        raise MappingError("lead_id: give exactly one of 'from' (a column) or 'row_number = true'")

    time = _section(doc, "time")
    _unknown_keys(time, {"origin", "step", "order_by", "extracted_at"}, "time")
    try:
        origin = pd.Timestamp(
            _get(time, "origin", str, "time") if "origin" in time else "2020-01-01"
        )
    except ValueError as err:
        raise MappingError(f"time.origin: not an ISO timestamp: {time.get('origin')!r}") from err
    origin = origin.tz_localize("UTC") if origin.tzinfo is None else origin.tz_convert("UTC")
    extracted_at: pd.Timestamp | None = None
    if "extracted_at" in time:
        try:
            extracted_at = pd.Timestamp(_get(time, "extracted_at", str, "time"))
        except ValueError as err:
            raise MappingError(
                f"time.extracted_at: not an ISO timestamp: {time.get('extracted_at')!r}"
            ) from err
        if extracted_at.tzinfo is None:
            extracted_at = extracted_at.tz_localize("UTC")

    label = _section(doc, "label")
    _unknown_keys(label, {"from", "positive", "won_after", "lost_after", "mql"}, "label")
    if "from" not in label:
        raise MappingError("label.from: missing (the column saying whether the lead converted)")
    positive = _str_list(label, "positive", "label")
    if not positive:
        raise MappingError("label.positive: missing (values of label.from meaning won)")

    columns_doc = _section(doc, "columns")
    columns = {col: _column_rule(col, spec) for col, spec in columns_doc.items()}
    for col, col_schema in _LEAD_SCHEMA.columns.items():
        if col not in _DERIVED and not col_schema.nullable and col not in columns:
            raise MappingError(f"columns.{col}: required contract column has no 'from' or 'value'")
    extras = {n: _extra(n, spec) for n, spec in _section(doc, "extras", required=False).items()}
    excluded_doc = _section(doc, "excluded", required=False)
    for col, reason in excluded_doc.items():
        if not isinstance(reason, str) or not reason.strip():
            raise MappingError(f"excluded.{col!r}: give the reason as a non-empty string")
    keep = _keep(_section(doc, "keep", required=False), excluded_doc)
    used = {r.source for r in columns.values() if r.source} | {e.source for e in extras.values()}
    used |= {label["from"]} | ({lead_id["from"]} if "from" in lead_id else set())
    leaking = sorted(used & set(excluded_doc))
    if leaking:
        raise MappingError(f"excluded: {leaking} are excluded as leakage but also used as input")
    return Mapping(
        name=str(doc.get("name", name)),
        files=files,
        separator=_get(source, "separator", str, "source") if "separator" in source else ",",
        encoding=_get(source, "encoding", str, "source") if "encoding" in source else "utf-8",
        drop_columns=_str_list(source, "drop_columns", "source"),
        na_values=_str_list(source, "na_values", "source"),
        id_column=_get(lead_id, "from", str, "lead_id") if "from" in lead_id else None,
        id_prefix=_get(lead_id, "prefix", str, "lead_id") if "prefix" in lead_id else "",
        time_origin=origin,
        time_step=_duration(time, "step", "time", "1h"),
        time_order=_get(time, "order_by", str, "time") if "order_by" in time else None,
        extracted_at=extracted_at,
        label_column=_get(label, "from", str, "label"),
        label_positive=positive,
        won_after=_duration(label, "won_after", "label", "30D"),
        lost_after=_duration(label, "lost_after", "label", "30D"),
        mql_outcome=bool(_get(label, "mql", bool, "label")) if "mql" in label else True,
        columns=columns,
        extras=extras,
        excluded={str(k): str(v) for k, v in excluded_doc.items()},
        keep=keep,
        path=path,
    )


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


def _read_source(mapping: Mapping, data_dir: Path) -> pd.DataFrame:
    """Read the export file(s) as strings, drop junk columns, apply the missing markers."""
    frames = []
    for rel in mapping.files:
        path = Path(data_dir) / rel
        if not path.is_file():
            raise SourceFileMissing(str(mapping.path or mapping.name), rel, Path(data_dir))
        frame = pd.read_csv(
            path,
            sep=mapping.separator,
            encoding=mapping.encoding,
            dtype=str,
            na_values=list(mapping.na_values),
            keep_default_na=True,
        )
        frames.append(frame.drop(columns=[c for c in mapping.drop_columns if c in frame.columns]))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _need(raw: pd.DataFrame, column: str, key: str, mapping: Mapping) -> pd.Series:
    if column not in raw.columns:
        raise KeyError(
            f"mapping {mapping.name}: {key} names column {column!r}, not in the export "
            f"(columns: {list(raw.columns)})"
        )
    return raw[column]


def _mapped_column(raw: pd.DataFrame, col: str, rule: ColumnRule, mapping: Mapping) -> pd.Series:
    if rule.source is None:
        return pd.Series([rule.value] * len(raw), index=raw.index, dtype=object)
    values = _need(raw, rule.source, f"columns.{col}.from", mapping)
    out = values.astype(object)
    if rule.values:
        mapped = values.map(rule.values)
        fallback = rule.default if rule.default is not None else values
        out = mapped.where(mapped.notna(), fallback).astype(object)
    elif rule.default is not None:
        out = values.where(values.notna(), rule.default).astype(object)
    if rule.missing is not None:
        out = out.where(values.notna(), rule.missing)
    return out


def apply_mapping(mapping: Mapping, data_dir: Path) -> CrmData:
    """Read a foreign export through `mapping` into contract-shaped `CrmData`."""
    raw = _read_source(mapping, Path(data_dir))
    n = len(raw)
    if mapping.id_column:
        ids = mapping.id_prefix + _need(raw, mapping.id_column, "lead_id.from", mapping).astype(str)
    else:
        ids = pd.Series([f"{mapping.id_prefix}{i:07d}" for i in range(n)], dtype=str)
    if mapping.time_order:
        order = pd.to_numeric(_need(raw, mapping.time_order, "time.order_by", mapping))
        ticks = (order - order.min()).to_numpy(dtype="float64")
    else:
        ticks = np.arange(n, dtype="float64")
    created = mapping.time_origin + pd.to_timedelta(ticks * mapping.time_step.value, unit="ns")
    leads = pd.DataFrame({"lead_id": ids.to_numpy(), "created_at": created}, index=raw.index)
    leads["created_at"] = leads["created_at"].astype("datetime64[us, UTC]")
    for col in _LEAD_SCHEMA.columns:
        if col in _DERIVED:
            continue
        rule = mapping.columns.get(col)
        leads[col] = _mapped_column(raw, col, rule, mapping) if rule else None

    fit_columns: list[str] = []
    interest_columns: list[str] = []
    for name, extra in mapping.extras.items():
        values = _need(raw, extra.source, f"extras.{name}.from", mapping)
        if extra.dtype == "numeric":
            leads[name] = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            leads[name] = values.astype("category")
        (fit_columns if extra.role == "fit" else interest_columns).append(name)

    label = _need(raw, mapping.label_column, "label.from", mapping)
    won = label.astype(str).str.strip().isin(mapping.label_positive).to_numpy()
    closed = pd.DataFrame(
        {
            "lead_id": leads["lead_id"],
            "stage": np.where(won, "closed_won", "closed_lost"),
            "occurred_at": leads["created_at"]
            + pd.to_timedelta(
                np.where(won, mapping.won_after.value, mapping.lost_after.value), unit="ns"
            ),
        }
    )
    parts = [closed]
    if mapping.mql_outcome:
        parts.insert(
            0,
            pd.DataFrame(
                {"lead_id": leads["lead_id"], "stage": "mql", "occurred_at": leads["created_at"]}
            ),
        )
    outcomes = pd.concat(parts, ignore_index=True)
    outcomes["occurred_at"] = outcomes["occurred_at"].astype("datetime64[us, UTC]")
    outcomes["reject_reason"] = pd.Series(None, index=outcomes.index, dtype="str")
    outcomes["amount"] = np.nan
    outcomes["meeting_rating"] = pd.array([pd.NA] * len(outcomes), dtype="Int64")
    events = pd.DataFrame(
        {
            "lead_id": pd.Series(dtype="str"),
            "occurred_at": pd.Series(dtype="datetime64[us, UTC]"),
            "type": pd.Series(dtype="str"),
            "channel": pd.Series(dtype="str"),
            "campaign": pd.Series(dtype="str"),
        }
    )
    return CrmData(
        leads=leads.reset_index(drop=True),
        events=events,
        outcomes=outcomes,
        fit_columns=fit_columns,
        interest_columns=interest_columns,
        excluded_columns=dict(mapping.excluded),
        kept_columns=_kept_inputs(mapping),
        source=f"mapping:{mapping.name}",
        extracted_at=mapping.extracted_at,
    )


def _kept_inputs(mapping: Mapping) -> dict[str, str]:
    """`[keep]` by lead column: an export column name stands for the extra read from it."""
    by_export = {extra.source: name for name, extra in mapping.extras.items()}
    return {by_export.get(col, col): reason for col, reason in mapping.keep.items()}


def read_crm(data_dir: Path, mapping: Path | None = None) -> CrmData:
    """The one place that chooses how a CRM is read: a foreign export through its TOML
    mapping, or else a contract-shaped folder."""
    if mapping is None:
        return read_folder(data_dir)
    return apply_mapping(load_mapping(Path(mapping)), Path(data_dir))
