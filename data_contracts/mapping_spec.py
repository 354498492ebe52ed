"""A parsed mapping: what to read and how each contract table is made from it.

Built by `mapping_parse.parse_mapping` (version 2, or a version 1 file translated), used by
`mapping_apply.apply_mapping`. The keys and what they mean: `mapping_keys`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from data_contracts.export_read import ReadOptions


@dataclass(frozen=True)
class Join:
    """A lookup table joined onto leads: its `key` equals the lead table's `on`."""

    key: str
    on: str


@dataclass(frozen=True)
class Link:
    """Rows with many per lead: `column` matches the lead key (or the lead table's `on`),
    or, `through` an association table, this table's key in `through_key` and the lead's
    in `through_lead`."""

    column: str
    on: str | None = None
    through: str | None = None
    through_key: str | None = None
    through_lead: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    files: tuple[str, ...]
    read: ReadOptions = field(default_factory=ReadOptions)
    time_format: str = "iso"
    join: Join | None = None
    link: Link | None = None


@dataclass(frozen=True)
class TimeRule:
    """A timestamp column, or (lead creation only) a time axis from a number or the rows."""

    column: str | None = None
    format: str = "iso"
    zone: str = "UTC"
    order_by: str | None = None
    row_order: bool = False
    origin: pd.Timestamp | None = None
    step: pd.Timedelta | None = None

    @property
    def synthetic(self) -> bool:
        return self.column is None


@dataclass(frozen=True)
class ValueRule:
    """How a value is read: from a column (mapped, with a default and a missing value) or a
    constant."""

    column: str | None = None
    table: str | None = None  # None: the rule's own table
    value: Any = None
    values: dict[str, Any] = field(default_factory=dict)
    default: Any = None
    missing: Any = None
    # Version 1: `default` also stands for missing values where no `missing` is given.
    default_fills_missing: bool = False


@dataclass(frozen=True)
class Extra:
    """An export column (or a value derived from one) kept as a model input, with words."""

    name: str
    role: str
    kind: str
    label: str
    phrase: str
    column: str | None = None
    table: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    default: str | None = None
    derive: str | None = None
    at: TimeRule | None = None  # derive = "count": the linked table's time
    id_like: str | None = None


@dataclass(frozen=True)
class Where:
    column: str
    keep: tuple[str, ...]
    negate: bool = False


@dataclass(frozen=True)
class StageRule:
    """Outcome rows from one table: one fixed stage, a column mapped onto stages, or a deal's
    won/closed flags."""

    table: str
    at: TimeRule
    stage: str | None = None
    stage_from: ValueRule | None = None
    won: str | None = None
    closed: str | None = None
    where: Where | None = None
    amount: str | None = None
    reason: ValueRule | None = None
    rating: str | None = None
    index: int = 0  # position in [[stages]], for messages


@dataclass(frozen=True)
class EventRule:
    table: str
    at: TimeRule
    type: ValueRule
    channel: ValueRule | None = None
    campaign: str | None = None
    where: Where | None = None
    index: int = 0


@dataclass(frozen=True)
class LabelRule:
    """Outcomes for label-only exports: won or lost a fixed time after creation."""

    column: str
    positive: tuple[str, ...]
    won_after: pd.Timedelta
    lost_after: pd.Timedelta
    mql: bool = True


@dataclass(frozen=True)
class AccountRule:
    """The contract's `accounts` table: one account per row of `table`, keyed by `id_column`;
    each account field filled by `columns` or declared `absent`."""

    table: str
    id_column: str
    columns: dict[str, ValueRule] = field(default_factory=dict)
    absent: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mapping:
    """A validated mapping; build it with `mapping.load_mapping`."""

    name: str
    version: int
    tables: dict[str, Table]
    lead_table: str
    created_at: TimeRule
    id_column: str | None = None
    id_prefix: str = ""
    columns: dict[str, ValueRule] = field(default_factory=dict)
    absent: tuple[str, ...] = ()
    extras: dict[str, Extra] = field(default_factory=dict)
    stages: tuple[StageRule, ...] = ()
    events: tuple[EventRule, ...] = ()
    label: LabelRule | None = None
    excluded: dict[str, str] = field(default_factory=dict)
    keep: dict[str, str] = field(default_factory=dict)
    # None: the export's accounts are not read (leads are scored alone, as before 1.2.0).
    accounts: AccountRule | None = None
    extracted_at: pd.Timestamp | None = None
    zone: str = "UTC"
    # Version 1 fills contract fields it does not name with missing values (version 2 asks
    # for them in [columns] or `absent`).
    fill_unnamed: bool = False
    path: Path | None = None

    def used_columns(self) -> dict[str, set[str]]:
        """Per table, the columns some rule reads (a 20M-row activity export is read for
        these only)."""
        used: dict[str, set[str]] = {name: set() for name in self.tables}
        lead = used[self.lead_table]

        def add(table: str | None, *columns: str | None) -> None:
            used[table or self.lead_table].update(c for c in columns if c)

        add(None, self.id_column, self.created_at.column, self.created_at.order_by)
        for rule in self.columns.values():
            add(rule.table, rule.column)
        for extra in self.extras.values():
            add(extra.table, extra.column, extra.at.column if extra.at else None)
        for name, t in self.tables.items():
            if t.join:
                add(name, t.join.key)
                lead.add(t.join.on)
            if t.link:
                add(name, t.link.column)
                add(None, t.link.on)
                if t.link.through:
                    add(t.link.through, t.link.through_key, t.link.through_lead)
        for s in self.stages:
            reason = s.reason.column if s.reason else None
            stage = s.stage_from.column if s.stage_from else None
            where = s.where.column if s.where else None
            add(s.table, s.at.column, stage, s.won, s.closed, where, s.amount, reason, s.rating)
        for e in self.events:
            channel = e.channel.column if e.channel else None
            where = e.where.column if e.where else None
            add(e.table, e.at.column, e.type.column, channel, e.campaign, where)
        if self.label:
            add(None, self.label.column)
        if self.accounts:
            acc = self.accounts
            used[acc.table].update(
                c for c in (acc.id_column, *(r.column for r in acc.columns.values())) if c
            )
        return used

    @property
    def files(self) -> tuple[str, ...]:
        """Every export file the mapping reads, relative to the data folder."""
        return tuple(f for t in self.tables.values() for f in t.files)
