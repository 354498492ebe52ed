"""Apply a `Mapping` to an export folder: read its tables, join and link them to the leads,
and build the contract tables (`CrmData`) with each row's origin and every count.

Values stay text until the contracts check them, so a bad value is a row-level failure
in validation (named by export file, row and column through `RowOrigin`), never a crash
here. Timestamps are read here (their formats are the mapping's to say); one that cannot be
read goes to `CrmData.conversion_failures`, which validation reports the same way.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.crm_data import MANIFEST, RowOrigin
from data_contracts.export_read import ExportTable, read_export_table
from data_contracts.export_report import ExportReport, TableReport, value_counts_text
from data_contracts.mapping_parse import MappingError
from data_contracts.mapping_spec import Mapping, TimeRule, ValueRule
from data_contracts.schemas import Lead
from data_contracts.timestamps import UTC_US, parse_timestamps

Ints = npt.NDArray[np.int64]
_LEAD_FIELDS = tuple(c for c in Lead.to_schema().columns if c not in ("lead_id", "created_at"))
FAILURE_KEYS = ("table", "row", "column", "check", "value")


class SourceFileMissing(FileNotFoundError):
    """A mapping pointed at a folder that does not hold its export file."""

    def __init__(self, mapping: str, file: str, data_dir: Path) -> None:
        self.mapping, self.file, self.data_dir = mapping, file, Path(data_dir)
        super().__init__(f"mapping {mapping}: no source file {file} in {data_dir}")


class ExportColumnMissing(MappingError):
    """A mapping names a column its export table does not have."""


def positions(values: pd.Series, keys: pd.Series) -> Ints:
    """Row of each value's first match in `keys`, -1 for none (missing values match nothing)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    arrow_keys = pa.array(keys.astype("str"), type=pa.large_string())
    arrow_values = pa.array(values.astype("str"), type=pa.large_string())
    found = pc.index_in(arrow_values, value_set=arrow_keys, skip_nulls=True)
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def take(values: pd.Series, rows: Ints) -> pd.Series:
    """`values.iloc[rows]` renumbered from 0, without copying when `rows` is every row."""
    n = len(values)
    if len(rows) == n and (
        n == 0 or (rows[0] == 0 and rows[-1] == n - 1 and bool(np.all(np.diff(rows) == 1)))
    ):
        return values.reset_index(drop=True)
    return values.iloc[rows].reset_index(drop=True)


def _duplicates(keys: pd.Series) -> int:
    present = keys.dropna()
    return int(present.duplicated().sum())


@dataclass
class Export:
    """An export read for one mapping: its tables, and how their rows reach the leads."""

    mapping: Mapping
    tables: dict[str, ExportTable]
    report: ExportReport
    join_row: dict[str, Ints] = field(default_factory=dict)  # lead -> joined row (-1: none)
    link_pairs: dict[str, tuple[Ints, Ints]] = field(default_factory=dict)  # (row, lead)
    failures: list[pd.DataFrame] = field(default_factory=list)
    # Per table a rule reads: rows some rule wrote, and why the others were skipped.
    _written: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict)
    _why: dict[str, tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]] = field(
        default_factory=dict
    )
    _times: dict[tuple[str, str, str, str], tuple[pd.Series, npt.NDArray[np.bool_]]] = field(
        default_factory=dict
    )

    @property
    def lead(self) -> ExportTable:
        return self.tables[self.mapping.lead_table]

    @property
    def n_leads(self) -> int:
        return len(self.lead)

    def column(self, table: str, column: str, key: str) -> pd.Series:
        """A table's column as read; a name the table lacks is a MappingError naming `key`."""
        frame = self.tables[table].frame
        if column not in frame.columns:
            files = ", ".join(self.tables[table].files)
            raise ExportColumnMissing(
                f"mapping {self.mapping.name}: {key} names column {column!r}, not in {table} "
                f"({files}; columns: {list(self.tables[table].header)})"
            )
        return frame[column]

    def at_rows(self, table: str, column: str, key: str, rows: Ints) -> pd.Series:
        """A column's values at `rows` (0..n-1 in order); no copy when `rows` is every row,
        as for a 20M-row activity table whose rows all reach a lead."""
        return take(self.column(table, column, key), rows)

    def per_lead(self, table: str, column: str, key: str) -> pd.Series:
        """One value per lead from the lead table or a joined one (missing where no row joins)."""
        values = self.column(table, column, key)
        if table == self.mapping.lead_table:
            return values.reset_index(drop=True)
        at = self.join_row[table]
        out = values.iloc[np.maximum(at, 0)].reset_index(drop=True)
        return out.where(pd.Series(at >= 0))

    def rows(self, table: str) -> tuple[Ints, Ints]:
        """(row of `table`, lead) pairs a rule on `table` reads, in the table's order."""
        n = self.n_leads
        if table == self.mapping.lead_table:
            every = np.arange(n, dtype=np.int64)
            return every, every
        if table in self.join_row:
            at = self.join_row[table]
            has = np.flatnonzero(at >= 0)
            return at[has], has.astype(np.int64)
        return self.link_pairs[table]

    def times(
        self, table: str, rule: TimeRule, key: str
    ) -> tuple[pd.Series, npt.NDArray[np.bool_]]:
        """A table's timestamp column, read once per format, counted in the report."""
        assert rule.column is not None
        cache = (table, rule.column, rule.format, rule.zone)
        if cache not in self._times:
            raw = self.column(table, rule.column, key)
            parsed, bad = parse_timestamps(raw, rule.format, rule.zone)
            self._times[cache] = (parsed.reset_index(drop=True), bad)
            self.report.table(table).timestamps[rule.column] = [
                int(raw.notna().sum() - bad.sum()),
                int(bad.sum()),
            ]
        return self._times[cache]

    def _marks(self, table: str) -> tuple[Any, Any, Any]:
        if table not in self._written:
            n = len(self.tables[table])
            self._written[table] = np.zeros(n, dtype=bool)
            self._why[table] = (np.full(n, None, dtype=object), np.full(n, None, dtype=object))
        return self._written[table], *self._why[table]

    def wrote(self, table: str, rows: Ints) -> None:
        """Rows of `table` a rule turned into contract rows."""
        self._marks(table)[0][rows] = True

    def skip(self, table: str, rows: Ints, why: str, values: pd.Series | None = None) -> None:
        """Rows of `table` a rule left out, and why (with the value, for unmapped ones)."""
        _, kinds, found = self._marks(table)
        fresh = pd.isna(kinds[rows])
        kinds[rows[fresh]] = why
        if values is not None:
            found[rows[fresh]] = values.to_numpy(dtype=object)[fresh]

    def settle(self) -> None:
        """Count, per table, the rows no rule wrote, by the first reason a rule gave."""
        for table, written in self._written.items():
            if table == self.mapping.lead_table:
                continue  # every lead row is a lead
            kinds, found = self._why[table]
            left = ~written & pd.notna(kinds)
            report = self.report.table(table)
            for why in pd.unique(kinds[left]):
                these = left & (kinds == why)
                values = found[these]
                if pd.notna(values).any():
                    counts = Counter(str(v) for v in values)
                    for text, n in value_counts_text(counts, str(why)).items():
                        report.left_out[text] += n
                else:
                    report.left_out[str(why)] += int(these.sum())

    def fail(
        self, contract_table: str, rows: Ints, column: str, check: str, values: pd.Series
    ) -> None:
        """Cells of contract table rows that could not be converted (for validation)."""
        if len(rows):
            text = values.astype(object).where(values.notna(), None).to_numpy(dtype=object)
            self.failures.append(
                pd.DataFrame(
                    {
                        "table": contract_table,
                        "row": pd.Series(rows.tolist(), dtype=object),
                        "column": column,
                        "check": check,
                        "value": text,
                    }
                )
            )


def read_export(mapping: Mapping, data_dir: Path) -> Export:
    """Read every table and work out joins and links (the lead table first)."""
    where = str(mapping.path or mapping.name)
    for table in mapping.tables.values():
        for rel in table.files:
            if not (Path(data_dir) / rel).is_file():
                raise SourceFileMissing(where, rel, Path(data_dir))
    used = mapping.used_columns()
    tables = {
        name: read_export_table(
            name, Path(data_dir), t.files, replace(t.read, columns=frozenset(used[name]))
        )
        for name, t in mapping.tables.items()
    }
    report = ExportReport(mapping=mapping.name, n_leads=len(tables[mapping.lead_table]))
    export = Export(mapping=mapping, tables=tables, report=report)
    through = {t.link.through for t in mapping.tables.values() if t.link and t.link.through}
    for name, t in mapping.tables.items():
        role = (
            "leads"
            if name == mapping.lead_table
            else "join"
            if t.join
            else "link"
            if t.link
            else "association"
            if name in through
            else "accounts"
            if mapping.accounts and name == mapping.accounts.table
            else "unused"
        )
        report.tables.append(
            TableReport(name=name, files=t.files, rows=len(tables[name]), role=role)
        )
    _join(export)
    _link(export)
    return export


def _lead_key(export: Export, on: str | None, key: str) -> pd.Series:
    m = export.mapping
    if on is not None:
        return export.column(m.lead_table, on, key)
    if m.id_column is None:
        raise MappingError(
            f"{key}: leads are numbered (row_number), so name the lead column to match (on)"
        )
    return export.column(m.lead_table, m.id_column, "leads.id")


def _join(export: Export) -> None:
    m = export.mapping
    for name, t in m.tables.items():
        if t.join is None:
            continue
        keys = export.column(name, t.join.key, f"tables.{name}.join.key")
        on = export.column(m.lead_table, t.join.on, f"tables.{name}.join.on")
        at = positions(on, keys)
        export.join_row[name] = at
        rep = export.report.table(name)
        rep.matched = int((at >= 0).sum())
        rep.duplicate_keys = _duplicates(keys)
        if rep.duplicate_keys:
            rep.left_out[f"duplicate {t.join.key} (the first row of each joins)"] = (
                rep.duplicate_keys
            )


def _link(export: Export) -> None:
    m = export.mapping
    for name, t in m.tables.items():
        if t.link is None:
            continue
        link, where = t.link, f"tables.{name}.link"
        lead_key = _lead_key(export, link.on, f"{where}.on")
        own = export.column(name, link.column, f"{where}.column")
        if link.through is None:
            lead = positions(own, lead_key)
            rows = np.flatnonzero(lead >= 0).astype(np.int64)
            pairs = (rows, lead[rows])
        else:
            assert link.through_key is not None and link.through_lead is not None
            via = link.through
            row = positions(export.column(via, link.through_key, f"{where}.through_key"), own)
            lead = positions(
                export.column(via, link.through_lead, f"{where}.through_lead"), lead_key
            )
            both = (row >= 0) & (lead >= 0)
            order = np.lexsort((lead[both], row[both]))
            pairs = (row[both][order], lead[both][order])
            export.report.table(via).matched = int(both.sum())
        export.link_pairs[name] = pairs
        rep = export.report.table(name)
        linked = np.zeros(len(own), dtype=bool)
        linked[pairs[0]] = True
        rep.matched = int(linked.sum())
        if (~linked).any():
            rep.left_out["reach no lead"] = int((~linked).sum())


# -- values -------------------------------------------------------------------------------


def mapped(
    values: pd.Series | None,
    rule: ValueRule,
    n: int,
    *,
    category: bool = False,
    strict: bool = False,
) -> pd.Series:
    """A rule's values: a constant, or the column mapped (default for values the map does
    not name, else the value as it is; `strict`: else missing) with `missing` where the
    export has none.

    Work is done once per distinct value, so 20M activity rows cost one hash pass;
    `category` returns a categorical (what a 20M-row events table should hold).
    """
    if values is None or rule.column is None:
        constant = pd.Series([rule.value] * n, dtype=object)
        return constant.astype("category") if category else constant
    codes, uniques = pd.factorize(values)
    table = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    if rule.values or strict:
        hit = table.map(lambda v: rule.values.get(str(v)))
        fallback = rule.default if rule.default is not None or strict else table
        table = hit.where(hit.notna(), fallback)
    missing = rule.missing
    if missing is None and rule.default_fills_missing:
        missing = rule.default
    lookup = pd.Series([*table.astype(object), missing], dtype=object)
    if not category:
        return pd.Series(lookup.to_numpy(dtype=object)[codes], dtype=object)
    result_codes, result_names = pd.factorize(lookup)
    dtype = pd.CategoricalDtype(
        pd.Index(np.asarray(result_names, dtype=object).astype(str), dtype="str")
    )
    return pd.Series(pd.Categorical.from_codes(result_codes[codes], dtype=dtype))


def lead_columns(export: Export) -> pd.DataFrame:
    """The lead contract fields (absent ones left out), from the lead table and joins."""
    m = export.mapping
    n = export.n_leads
    out: dict[str, Any] = {}
    for name in _LEAD_FIELDS:
        rule = m.columns.get(name)
        if rule is None:
            if m.fill_unnamed:
                out[name] = pd.Series([None] * n, dtype=object)
            continue
        table = rule.table or m.lead_table
        values = (
            export.per_lead(table, rule.column, f"columns.{name}.from") if rule.column else None
        )
        out[name] = mapped(values, rule, n)
    return pd.DataFrame(out)


def lead_keys(export: Export) -> tuple[pd.Series, pd.Series]:
    """(lead_id, created_at) of every lead; unreadable creation times are recorded."""
    m = export.mapping
    n = export.n_leads
    if m.id_column:
        raw = export.column(m.lead_table, m.id_column, "leads.id").reset_index(drop=True)
        ids = (m.id_prefix + raw).astype("str") if m.id_prefix else raw.astype("str")
    else:
        ids = pd.Series([f"{m.id_prefix}{i:07d}" for i in range(n)], dtype="str")
    rule = m.created_at
    if rule.synthetic:
        assert rule.origin is not None and rule.step is not None
        if rule.order_by:
            order = pd.to_numeric(
                export.column(m.lead_table, rule.order_by, "leads.created_at.order_by")
            )
            ticks = (order - order.min()).to_numpy(dtype="float64")
        else:
            ticks = np.arange(n, dtype="float64")
        created = rule.origin + pd.to_timedelta(ticks * rule.step.value, unit="ns")
        return ids, pd.Series(created).astype(UTC_US).reset_index(drop=True)
    stamps, bad = export.times(m.lead_table, rule, "leads.created_at")
    raw_times = export.column(m.lead_table, str(rule.column), "leads.created_at")
    export.fail(
        "leads",
        np.flatnonzero(bad).astype(np.int64),
        "created_at",
        f"not a valid timestamp ({rule.format})",
        raw_times[bad],
    )
    return ids, stamps


def extracted_at(mapping: Mapping, data_dir: Path) -> pd.Timestamp | None:
    """The mapping's `extracted_at`, else a `manifest.json` beside the export, else None."""
    if mapping.extracted_at is not None:
        return mapping.extracted_at
    path = Path(data_dir) / MANIFEST
    if path.is_file():
        stamp = json.loads(path.read_text()).get("extracted_at")
        if stamp:
            ts = pd.Timestamp(stamp)
            return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return None


def lead_origin(export: Export) -> RowOrigin:
    """Each lead's export file and row, and which export column filled each field."""
    m = export.mapping
    lead = export.lead
    columns: dict[str, str] = {
        "created_at": str(m.created_at.column or m.created_at.order_by or "(row order)")
    }
    if m.id_column:
        columns["lead_id"] = m.id_column
    for name, rule in m.columns.items():
        if rule.column:
            table = rule.table or m.lead_table
            columns[name] = rule.column if table == m.lead_table else f"{table}.{rule.column}"
    for name, extra in m.extras.items():
        if extra.column:
            columns[name] = (
                extra.column if extra.table == m.lead_table else f"{extra.table}.{extra.column}"
            )
    return RowOrigin(
        sources=tuple((file, columns) for file in lead.files),
        source=lead.file_code,
        row=lead.row,
    )
