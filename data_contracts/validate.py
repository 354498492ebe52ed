"""Check a CRM folder against the contracts, report every failure, quarantine failing rows.

Validation is lazy: every failing row and column is reported, not just the first. Failures
from pandera (`schemas.py`, the single source of allowed values) and from the cross-table
rules (`cross_table.py`) are normalised into one frame `file, row, column, check, value`
where `row` is the 0-based data row in the source file (`None` for table-level failures).

Failing rows leave `valid` and go to quarantine files, and no row disappears unreported:
a lead whose outcome history failed is quarantined with it (its label can't be trusted),
and events/outcomes of a quarantined lead are reported as "lead quarantined".

Speed: typed values are coerced here with vectorised pandas (pandera's own coercion turns
"false" into True and is slow on strings), then pandera runs its checks on the typed frame,
which takes well under a second per million rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from data_contracts.crm_data import ACCOUNTS, TABLES, CrmData, RowOrigin, missing_optional
from data_contracts.cross_table import (
    FAILURE_COLUMNS,
    account_rules,
    cross_table_failures,
    empty_failures,
    isin,
    lead_account_failures,
)
from data_contracts.mapping import read_crm
from data_contracts.schemas import FALSE_WORDS, SCHEMAS, TRUE_WORDS

MISSING_COLUMN = "missing required column"
EMPTY_FILE = "empty file"
MISSING_VALUE = "missing value in required field"
LEAD_QUARANTINED = "lead quarantined"
OUTCOMES_INVALID = "lead has invalid outcomes"
REPORT_LIMIT = 50
# Tables longer than this are checked by `_vectorised_failures` (same rules, read from the
# same pandera schema) instead of pandera itself, whose per-check null filtering copies
# every column: ~15 s of 20 s on a 20M-event table.
PANDERA_MAX_ROWS = 1_000_000


@dataclass
class ValidationResult:
    """What validation found, the rows that passed, and where the failing rows went."""

    ok: bool
    valid: CrmData
    failures: pd.DataFrame
    quarantined: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def report_text(self, limit: int = REPORT_LIMIT) -> str:
        """A summary a data owner can act on: counts, the first failures, the quarantine."""
        lines = [f"Validation {'passed' if self.ok else 'FAILED'} ({self.valid.source})"]
        for table, c in self.counts.items():
            lines.append(
                f"  {table:<9} {c['rows']:>10,} rows  {c['valid']:>10,} valid  "
                f"{c['quarantined']:>10,} quarantined"
            )
        total = len(self.failures)
        if total:
            summary = self.failures.groupby(["file", "column", "check"], dropna=False).size()
            lines.append(f"{total:,} failures by kind:")
            for key, n in summary.sort_values(ascending=False).items():
                lines.append(f"  {': '.join(map(str, key))}  x{n:,}")  # type: ignore[call-overload]
            shown = self.failures.head(limit)
            lines.append(f"First {len(shown)} of {total:,} failures:")
            for rec in shown.to_dict("records"):
                row, val = rec["row"], rec["value"]
                where = "table" if row is None else f"row {row}"
                value = "" if val is None else f" (value: {val!r})"
                lines.append(f"  {rec['file']} {where}: {rec['column']}: {rec['check']}{value}")
        for table, path in self.quarantined.items():
            lines.append(f"Quarantined {table} rows written to {path}")
        if self.valid.report is not None and self.valid.report.notes():
            lines.append("Export rows the mapping did not use (counted, not failures):")
            lines += [f"  {note}" for note in self.valid.report.notes()]
        return "\n".join(lines)


@dataclass
class _Checked:
    """One table after single-table checks: typed frame, failures, failing row mask."""

    raw: pd.DataFrame
    typed: pd.DataFrame
    failures: pd.DataFrame
    bad: np.ndarray
    fatal: list[str] = field(default_factory=list)


def _kind(dtype: Any) -> str:
    """How a contract dtype reads in a report ("not a valid timestamp")."""
    text = str(dtype)
    if "datetime" in text:
        return "timestamp"
    if text.lower().startswith("int"):
        return "integer"
    if text.startswith("float"):
        return "number"
    if text == "bool":
        return "boolean"
    return "string"


def _text(values: pd.Series) -> np.ndarray:
    """Failure values as strings (or None), so the failures frame has one value type."""
    return np.array([None if pd.isna(v) else str(v) for v in values], dtype=object)


def _coerce(column: pd.Series, kind: str) -> pd.Series:
    """Typed copy of `column`; values that can't be read become missing (reported by caller)."""
    if kind == "timestamp":
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            return column.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
        if pd.api.types.is_datetime64_dtype(column.dtype):
            return column.dt.tz_localize("UTC").astype("datetime64[us, UTC]")
        parsed = pd.to_datetime(column, utc=True, format="ISO8601", errors="coerce")
        return parsed.astype("datetime64[us, UTC]")
    if kind in ("integer", "number"):
        if kind == "number" and pd.api.types.is_float_dtype(column.dtype):
            return column
        numbers = pd.to_numeric(column, errors="coerce")
        if kind == "number":
            return numbers.astype("float64")
        numbers = numbers.astype("float64")
        whole = numbers.where(np.isfinite(numbers) & (numbers == np.round(numbers)))
        return whole.astype("Int64")
    if kind == "boolean":
        if pd.api.types.is_bool_dtype(column.dtype):
            return column.astype("boolean")
        lowered = column.astype(object).map(lambda v: str(v).strip().lower(), na_action="ignore")
        out = pd.Series(pd.NA, index=column.index, dtype="boolean")
        out[lowered.isin(TRUE_WORDS).to_numpy(dtype=bool)] = True
        out[lowered.isin(FALSE_WORDS).to_numpy(dtype=bool)] = False
        return out
    if isinstance(column.dtype, pd.CategoricalDtype):
        # Vocabulary columns read as dictionaries stay categorical: checks run per category.
        cats = column.cat.categories
        if pd.api.types.is_string_dtype(cats.dtype) and cats.dtype != object:
            return column
        return column.cat.rename_categories(list(cats.astype("str")))
    if column.dtype == object or not pd.api.types.is_string_dtype(column.dtype):
        return column.astype("str")
    return column


def _pandera_failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """Pandera's lazy failure cases, as `FAILURE_COLUMNS` rows with readable check names."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return empty_failures()
    kinds = {name: _kind(col.dtype) for name, col in schema.columns.items()}
    checks = []
    for check, column in zip(cases["check"], cases["column"], strict=True):
        if check == "not_nullable":
            checks.append(MISSING_VALUE)
        elif check == "field_uniqueness":
            checks.append(f"duplicate {column}")
        elif check.startswith(("coerce_dtype(", "dtype(")):
            checks.append(f"not a valid {kinds.get(column, 'value')}")
        elif check == "column_in_dataframe":
            checks.append(MISSING_COLUMN)
        else:
            checks.append(check)
    rows = [None if pd.isna(i) else int(i) for i in cases["index"]]
    out = pd.DataFrame(
        {
            "row": pd.Series(rows, dtype=object),
            "column": cases["column"].astype(object).to_numpy(),
            "check": checks,
            "value": _text(cases["failure_case"]),
        }
    )
    return out.drop_duplicates(["row", "column", "check"])


def _passes(check: pa.Check, values: pd.Series) -> np.ndarray:
    """Where `values` pass one pandera check; missing values pass (nullability is separate)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        # Judge each distinct value once, then spread the verdict over the rows.
        verdict = _passes(check, pd.Series(values.cat.categories))
        codes = values.cat.codes.to_numpy()
        return (
            np.where(codes >= 0, verdict[np.maximum(codes, 0)], True) if len(verdict) else codes < 0
        )
    stats: dict[str, Any] = check.statistics or {}
    if check.name == "isin":
        result = values.isin(stats["allowed_values"])
    elif check.name == "str_length":
        length = values.str.len()
        result = pd.Series(True, index=values.index)
        if stats.get("exact_value") is not None:
            result &= length == stats["exact_value"]
        if stats.get("min_value") is not None:
            result &= length >= stats["min_value"]
        if stats.get("max_value") is not None:
            result &= length <= stats["max_value"]
    elif check.name == "greater_than_or_equal_to":
        result = values >= stats["min_value"]
    elif check.name == "less_than_or_equal_to":
        result = values <= stats["max_value"]
    elif check.name == "greater_than":
        result = values > stats["min_value"]
    elif check.name == "less_than":
        result = values < stats["max_value"]
    else:  # any other check: pandera's own implementation on the whole column
        result = check(values).check_output
    passed = np.asarray(pd.Series(result).to_numpy(dtype=bool, na_value=True), dtype=bool)
    return passed | values.isna().to_numpy()


def _vectorised_failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """The schema's column rules (nullable, unique, checks) as whole-column numpy masks.

    Used for tables too long for pandera to be quick; reports exactly what
    `_pandera_failures` would (types are already coerced by `_coerce`).
    """
    parts = []
    for name, col in schema.columns.items():
        values = frame[name]
        findings: list[tuple[np.ndarray, str]] = []
        missing = values.isna().to_numpy()
        if not col.nullable:
            findings.append((missing, MISSING_VALUE))
        if col.unique:
            findings.append(
                (values.duplicated(keep=False).to_numpy() & ~missing, f"duplicate {name}")
            )
        for check in col.checks:
            findings.append((~_passes(check, values), str(check.error or check.name)))
        for mask, label in findings:
            rows = np.flatnonzero(mask)
            if len(rows):
                parts.append(
                    pd.DataFrame(
                        {
                            "row": pd.Series(rows, dtype=object),
                            "column": name,
                            "check": label,
                            "value": _text(values.iloc[rows]),
                        }
                    )
                )
    if not parts:
        return pd.DataFrame(columns=["row", "column", "check", "value"])
    return pd.concat(parts, ignore_index=True)


def _check_table(
    name: str,
    raw: pd.DataFrame,
    file: str,
    require_rows: bool,
    absent: frozenset[str] = frozenset(),
    premarked: pd.DataFrame | None = None,
    table_rows: int | None = None,
) -> _Checked:
    """Single-table rules: empty file, missing columns, types, then the pandera model.

    `absent` columns are declared missing (not checked, not added); `premarked` cells
    (row, column, check, value) are failures found before the table was built, such as a
    timestamp a mapping could not read: they are reported instead of what they became.
    `table_rows`: the whole table's length when `raw` is one partition of it, so the
    partition is checked the way one machine checks the whole table.
    """
    schema = SCHEMAS[name]
    raw = raw.reset_index(drop=True)
    n = len(raw)
    table_level: list[dict[str, Any]] = []
    fatal: list[str] = []
    if n == 0 and (require_rows or name == "leads"):
        table_level.append({"row": None, "column": None, "check": EMPTY_FILE, "value": None})
    typed = pd.DataFrame(index=raw.index)
    for col in raw.columns:
        typed[col] = raw[col]
    row_parts: list[pd.DataFrame] = []
    if premarked is not None and not premarked.empty:
        row_parts.append(premarked[["row", "column", "check", "value"]])
    missing: list[str] = []
    for col_name, col in schema.columns.items():
        kind = _kind(col.dtype)
        if col_name not in raw.columns and col_name in absent:
            missing.append(col_name)
            continue
        if col_name not in raw.columns:
            missing.append(col_name)
            if n or len(raw.columns):  # a file with no header at all is just "empty file"
                table_level.append(
                    {"row": None, "column": col_name, "check": MISSING_COLUMN, "value": None}
                )
            if not col.nullable:
                fatal.append(f"{col_name}: {MISSING_COLUMN}")
            typed[col_name] = _coerce(pd.Series([None] * n, dtype=object), kind)
            continue
        coerced = _coerce(raw[col_name], kind)
        unreadable = (coerced.isna() & raw[col_name].notna()).to_numpy(dtype=bool)
        if unreadable.any():
            row_parts.append(
                pd.DataFrame(
                    {
                        "row": pd.Series(np.flatnonzero(unreadable), dtype=object),
                        "column": col_name,
                        "check": f"not a valid {kind}",
                        "value": _text(raw[col_name][unreadable]),
                    }
                )
            )
        typed[col_name] = coerced
    if n:
        checked_schema = schema.remove_columns(missing) if missing else schema
        if (n if table_rows is None else table_rows) > PANDERA_MAX_ROWS:
            found = _vectorised_failures(checked_schema, typed)
        else:
            found = _pandera_failures(checked_schema, typed)
        if row_parts and not found.empty:
            # A cell already reported as unreadable is not also "missing" or "wrong dtype".
            seen = pd.concat(row_parts)[["row", "column"]].assign(_seen=True)
            found = found.merge(seen, on=["row", "column"], how="left")
            found = found.loc[found["_seen"].isna()].drop(columns="_seen")
        row_parts.append(found)
    failures = pd.concat(
        [pd.DataFrame(table_level, columns=["row", "column", "check", "value"]), *row_parts],
        ignore_index=True,
    )
    if not failures.empty:
        # dtype noise on a cell that has a real finding (e.g. missing) adds nothing.
        noise = failures["check"].str.startswith("not a valid") & failures["row"].notna()
        cells = failures.loc[~noise & failures["row"].notna(), ["row", "column"]]
        key = failures["row"].astype(str) + "\x00" + failures["column"].astype(str)
        dup = key.isin(set(cells["row"].astype(str) + "\x00" + cells["column"].astype(str)))
        failures = failures.loc[~(noise & dup)]
    failures = failures.assign(file=file)[list(FAILURE_COLUMNS)]
    bad = np.zeros(n, dtype=bool)
    rows = failures["row"].dropna().astype(int).to_numpy()
    bad[rows[(rows >= 0) & (rows < n)]] = True
    if fatal:
        bad[:] = True
    return _Checked(raw=raw, typed=typed, failures=failures, bad=bad, fatal=fatal)


def _keep(frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """Rows where `mask` holds; no copy when all rows pass (the common, big case)."""
    return frame if mask.all() else frame.loc[mask]


def _lead_ids(frame: pd.DataFrame) -> pd.Series:
    return frame["lead_id"] if "lead_id" in frame.columns else pd.Series([], dtype="str")


def _row_failures(
    checked: _Checked, file: str, mask: np.ndarray, column: str, check: str
) -> pd.DataFrame:
    """Failure rows for the masked rows of a checked table, marking them bad."""
    if not mask.any():
        return empty_failures()
    checked.bad |= mask
    return pd.DataFrame(
        {
            "file": file,
            "row": pd.Series(np.flatnonzero(mask), dtype=object),
            "column": column,
            "check": check,
            "value": _text(checked.typed[column][mask]),
        }
    )


def _run(
    crm: CrmData,
    files: dict[str, str],
    require_rows: frozenset[str],
    table_rows: Mapping[str, int] | None = None,
) -> tuple[ValidationResult, dict[str, pd.DataFrame]]:
    """Validate all tables; return the result and the quarantine frames per table."""
    # Optional columns a table leaves out are absent, however the data was put together.
    absent_fields = (
        *crm.absent_fields,
        *(f for f in missing_optional(crm.leads, "leads") if f not in crm.absent_fields),
    )
    absent = frozenset(absent_fields)
    converted = crm.conversion_failures
    sizes = table_rows or {}
    tables = crm.tables
    files = {**{name: name for name in tables}, **files}
    account_absent = (
        frozenset(missing_optional(crm.accounts, ACCOUNTS)) if crm.accounts is not None else None
    )
    checked = {
        name: _check_table(
            name,
            crm.table(name),
            files[name],
            name in require_rows,
            absent={"leads": absent, ACCOUNTS: account_absent}.get(name) or frozenset(),
            premarked=None if converted is None else converted.loc[converted["table"] == name],
            table_rows=sizes.get(name),
        )
        for name in tables
    }
    leads, outcomes = checked["leads"], checked["outcomes"]
    known = _lead_ids(leads.typed).dropna()

    ok_frames = {n: _keep(c.typed, ~c.bad) for n, c in checked.items()}
    cross = cross_table_failures(
        ok_frames["leads"], ok_frames["events"], ok_frames["outcomes"], known_lead_ids=known
    )
    file_of = {n: files[n] for n in TABLES}
    parts = [c.failures for c in checked.values()]
    if not cross.empty:
        for name in ("events", "outcomes"):
            rows = cross.loc[cross["file"] == name, "row"].astype(int).to_numpy()
            checked[name].bad[rows] = True
        cross["file"] = cross["file"].map(file_of)
        parts.append(cross)

    if ACCOUNTS in checked:
        parts.extend(_account_failures(checked, files))

    # A lead with any failing outcome has an untrustworthy label: quarantine the lead.
    lead_ids = _lead_ids(leads.typed)
    bad_outcome_leads = pd.unique(_lead_ids(outcomes.typed)[outcomes.bad].dropna())
    if len(bad_outcome_leads):
        mask = isin(lead_ids, bad_outcome_leads) & ~leads.bad
        parts.append(_row_failures(leads, files["leads"], mask, "lead_id", OUTCOMES_INVALID))

    # Events and outcomes of a quarantined lead go with it, reported.
    gone = pd.unique(lead_ids[leads.bad].dropna())
    if len(gone):
        gone = gone[~isin(pd.Series(gone, dtype="str"), lead_ids[~leads.bad].dropna())]
    if gone:
        for name in ("events", "outcomes"):
            child = checked[name]
            if "lead_id" not in child.typed.columns:
                continue
            mask = isin(child.typed["lead_id"], gone) & ~child.bad
            parts.append(_row_failures(child, files[name], mask, "lead_id", LEAD_QUARANTINED))

    parts = [p for p in parts if not p.empty]
    failures = _tidy(pd.concat(parts, ignore_index=True)) if parts else empty_failures()

    counts: dict[str, dict[str, int]] = {}
    valid_frames: dict[str, pd.DataFrame] = {}
    quarantine: dict[str, pd.DataFrame] = {}
    for name, c in checked.items():
        valid_frames[name] = _final_dtypes(_keep(c.typed, ~c.bad), SCHEMAS[name])
        if name == ACCOUNTS:
            valid_frames[name] = _with_missing_columns(valid_frames[name], name)
        quarantine[name] = _quarantine_frame(c, failures.loc[failures["file"] == files[name]])
        if name in crm.origin:
            quarantine[name] = _with_origin(quarantine[name], crm.origin[name])
        counts[name] = {
            "rows": len(c.raw),
            "valid": len(valid_frames[name]),
            "quarantined": len(quarantine[name]),
        }
        if counts[name]["valid"] + counts[name]["quarantined"] != counts[name]["rows"]:
            raise AssertionError(f"{name}: rows lost in validation: {counts[name]}")
        unexplained = quarantine[name]["_failures"].isna() | (quarantine[name]["_failures"] == "")
        if unexplained.any():
            raise AssertionError(f"{name}: quarantined rows without a reported failure")

    valid = replace(
        crm,
        leads=valid_frames["leads"],
        events=valid_frames["events"],
        outcomes=valid_frames["outcomes"],
        accounts=valid_frames.get(ACCOUNTS),
        absent_fields=absent_fields,
        conversion_failures=None,
        origin={},
    )
    failures = _at_source(failures, crm.origin, files)
    result = ValidationResult(ok=failures.empty, valid=valid, failures=failures, counts=counts)
    return result, quarantine


def _account_failures(checked: dict[str, _Checked], files: dict[str, str]) -> list[pd.DataFrame]:
    """The account rules: across accounts first, then each lead against the accounts that
    passed; failing rows are marked bad, so a lead of a broken account is quarantined (with
    its events and outcomes) rather than scored with a wrong account."""
    accounts, leads = checked[ACCOUNTS], checked["leads"]
    ok_accounts = _keep(accounts.typed, ~accounts.bad)
    found = account_rules(ok_accounts)
    if not found.empty:
        accounts.bad[found["row"].astype(int).to_numpy()] = True
    ids = accounts.typed["account_id"]
    gone = pd.unique(ids[accounts.bad].dropna())
    kept = _keep(accounts.typed, ~accounts.bad)
    on_leads = lead_account_failures(_keep(leads.typed, ~leads.bad), kept, gone)
    if not on_leads.empty:
        leads.bad[on_leads["row"].astype(int).to_numpy()] = True
    out = [f.assign(file=f["file"].map(files)) for f in (found, on_leads) if not f.empty]
    return out


def _with_missing_columns(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Optional columns a table left out, added as missing, so readers see every column."""
    absent = [c for c in SCHEMAS[name].columns if c not in frame.columns]
    return frame.assign(**dict.fromkeys(absent, None)) if absent else frame


def _at_source(
    failures: pd.DataFrame, origin: dict[str, RowOrigin], files: dict[str, str]
) -> pd.DataFrame:
    """Failures on mapped tables, renamed to the export's file, row and column."""
    if failures.empty or not origin:
        return failures
    out = failures.copy()
    file_col = out["file"].to_numpy(dtype=object).copy()
    row_col = out["row"].to_numpy(dtype=object).copy()
    column_col = out["column"].to_numpy(dtype=object).copy()
    for name, where in origin.items():
        idx = np.flatnonzero((file_col == files[name]) & pd.notna(row_col))
        if not len(idx):
            continue
        rows = row_col[idx].astype(np.int64)
        source = where.source[rows]
        file_col[idx] = np.array([file for file, _ in where.sources], dtype=object)[source]
        row_col[idx] = [int(r) for r in where.row[rows]]
        column_col[idx] = [
            where.sources[s][1].get(str(c), c) if c is not None else c
            for s, c in zip(source.tolist(), column_col[idx], strict=True)
        ]
    out["file"], out["row"], out["column"] = file_col, row_col, column_col
    # One export cell read by two rules (a time and a weekday derived from it) is one failure.
    cell = out["row"].notna()
    repeated = out.duplicated(["file", "row", "column", "check"]) & cell
    return out.loc[~repeated].reset_index(drop=True)


def _with_origin(frame: pd.DataFrame, where: RowOrigin) -> pd.DataFrame:
    """A quarantine frame with the export file and row each held-back row came from."""
    rows = frame["_row"].to_numpy(dtype=np.int64)
    files = np.array([file for file, _ in where.sources], dtype=object)
    out = frame.copy()
    out.insert(1, "_source_file", files[where.source[rows]] if len(rows) else [])
    out.insert(2, "_source_row", where.row[rows] if len(rows) else [])
    return out


def _tidy(failures: pd.DataFrame) -> pd.DataFrame:
    """One value type per column: `row` int or None, `value` str or None."""
    out = failures.reset_index(drop=True)
    out["row"] = pd.Series(
        [None if pd.isna(r) else int(r) for r in out["row"]], dtype=object, index=out.index
    )
    out["value"] = pd.Series(_text(out["value"]), dtype=object, index=out.index)
    for col in ("file", "column", "check"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def _final_dtypes(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Valid rows hold no missing booleans, so booleans become plain `bool` again."""
    out = frame.copy(deep=False)
    for name, col in schema.columns.items():
        if _kind(col.dtype) == "boolean" and name in out.columns:
            out[name] = out[name].astype(bool)
    return out


def _quarantine_frame(checked: _Checked, failures: pd.DataFrame) -> pd.DataFrame:
    """The original failing rows plus `_row` and `_failures` (why each row was held back)."""
    rows = np.flatnonzero(checked.bad)
    out = checked.raw.iloc[rows].copy() if len(rows) else checked.raw.iloc[:0].copy()
    out.insert(0, "_row", rows)
    row_level = failures.loc[failures["row"].notna()]
    if len(rows) and not row_level.empty:
        text: pd.Series = (
            row_level["column"].astype(str)
            + ": "
            + row_level["check"].astype(str)
            + np.where(row_level["value"].isna(), "", " (" + row_level["value"].astype(str) + ")")
        )
        reasons: pd.Series = text.groupby(row_level["row"].astype(int).to_numpy()).agg("; ".join)
        out["_failures"] = pd.Series(rows, index=out.index).map(reasons)
    else:
        out["_failures"] = pd.Series(None, index=out.index, dtype=object)
    if checked.fatal:
        fatal = "; ".join(checked.fatal)
        out["_failures"] = out["_failures"].map(lambda r: fatal if pd.isna(r) else f"{fatal}; {r}")
    return out


def unwritable_quarantine(out_dir: Path, err: OSError) -> OSError:
    """The error to raise when failing rows cannot be written: where, why, and what to do."""
    return OSError(
        f"cannot write quarantine to {out_dir} ({err}); pass quarantine_dir / --quarantine"
    )


def quarantine_file(out_dir: Path, name: str) -> Path:
    """Where a table's held-back rows go (`<table>.csv` in `out_dir`, made if need be)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise unwritable_quarantine(out_dir, err) from err
    return out_dir / f"{name}.csv"


def _write_quarantine(quarantine: dict[str, pd.DataFrame], out_dir: Path) -> dict[str, Path]:
    """Write non-empty quarantine frames as `<table>.csv`; nothing is written when all pass."""
    written: dict[str, Path] = {}
    for name, frame in quarantine.items():
        if frame.empty:
            continue
        path = quarantine_file(out_dir, name)
        try:
            frame.to_csv(path, index=False)
        except OSError as err:
            raise unwritable_quarantine(out_dir, err) from err
        written[name] = path
    return written


def check_crm(
    crm: CrmData, table_rows: Mapping[str, int] | None = None
) -> tuple[ValidationResult, dict[str, pd.DataFrame]]:
    """`validate_crm` without writing: the result and, per table, the quarantine frame (the
    failing rows as given, with `_row` and `_failures`), for callers that store it
    themselves (Spark validates each partition of the leads with this, passing each whole
    table's length as `table_rows`)."""
    return _run(crm, {name: name for name in TABLES}, frozenset(), table_rows)


def table_failures(
    crm: CrmData, files: dict[str, str], require_rows: frozenset[str]
) -> pd.DataFrame:
    """The table-level failures (an empty file, a missing column) of `crm`'s tables.

    They depend only on each table's columns and on whether it has rows, so an engine that
    validates partitions asks once, with at most a row of each table, not per partition.
    """
    result, _ = _run(crm, files, require_rows)
    failures = result.failures
    return failures.loc[failures["row"].isna()].reset_index(drop=True)


def in_source_order(failures: pd.DataFrame, files: Mapping[str, str]) -> pd.DataFrame:
    """Table-level failures first, as found, then row-level ones by table (`files`: each
    table's file, in `TABLES` order; other files after them), file, row, column and check:
    an order that does not depend on how the rows were split, so every engine and path
    reports the same list."""
    if failures.empty:
        return failures.reset_index(drop=True)
    rank = {file: i for i, file in enumerate(files.values())}
    table_level = failures["row"].isna().to_numpy()
    rows = failures.loc[~table_level]
    rows = (
        rows.assign(_rank=rows["file"].map(lambda f: rank.get(f, len(rank))))
        .sort_values(["_rank", "file", "row", "column", "check"], kind="stable")
        .drop(columns="_rank")
    )
    return pd.concat([failures.loc[table_level], rows], ignore_index=True)


def validate_crm(crm: CrmData, quarantine_dir: Path | None = None) -> ValidationResult:
    """Validate in-memory CRM tables; write failing rows to `quarantine_dir` if given."""
    result, quarantine = check_crm(crm)
    if quarantine_dir is not None:
        result.quarantined = _write_quarantine(quarantine, Path(quarantine_dir))
    return result


def validate_folder(
    data_dir: Path, mapping: Path | None = None, quarantine_dir: Path | None = None
) -> ValidationResult:
    """Validate a CRM folder (or a foreign export through a TOML mapping) and quarantine,
    holding it whole: `valid` has every row that passed (`bucket_validate.check_folder`
    reports the same on a large plain folder a lead-id bucket at a time, keeping no rows)."""
    data_dir = Path(data_dir)
    crm = read_crm(data_dir, mapping)
    # Failures name the file a table came from; a table that had a file must have rows.
    files = {name: crm.files.get(name, name) for name in crm.tables}
    result, quarantine = _run(crm, files, require_rows=frozenset(crm.files))
    result.failures = in_source_order(result.failures, files)
    out_dir = Path(quarantine_dir) if quarantine_dir is not None else data_dir / "quarantine"
    result.quarantined = _write_quarantine(quarantine, out_dir)
    return result
