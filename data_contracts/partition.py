"""The contracts on one partition of the leads, holding every row that belongs to them.

An engine that splits the data (Spark) sends all rows of a lead, in every table, to the
same partition. Every row-level rule is about one row or one lead's rows (a unique
`lead_id`, an event for an unknown lead, a lead's outcome history), so `check_crm` -- the
single-machine rules, unchanged -- finds on each partition exactly what it finds on the
whole folder. Only the row numbers differ: each table arrives with `SOURCE_FILE` and
`SOURCE_ROW` (its file and 0-based data row there), and failures are reported against
those. Table-level findings (an empty file, a missing column) belong to the whole table and
are judged once (`validate.table_failures`), so they are left out here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from data_contracts.crm_data import TABLES, CrmData, empty_table
from data_contracts.cross_table import FAILURE_COLUMNS
from data_contracts.validate import check_crm

SOURCE_FILE = "_file"
SOURCE_ROW = "_row"
SOURCE_COLUMNS: tuple[str, ...] = (SOURCE_FILE, SOURCE_ROW)
# One row per held-back row: its table, where it came from, and why (as quarantine says it).
QUARANTINE_COLUMNS: tuple[str, ...] = ("table", SOURCE_FILE, SOURCE_ROW, "_failures")


@dataclass(frozen=True)
class PartitionResult:
    """What the contracts found in one partition, with rows named by file and source row."""

    valid: CrmData  # typed rows that passed, each table in source order
    lead_sources: pd.DataFrame  # SOURCE_COLUMNS of each valid lead, in `valid.leads` order
    failures: pd.DataFrame  # FAILURE_COLUMNS; `row` is the source row
    quarantined: pd.DataFrame  # QUARANTINE_COLUMNS
    counts: dict[str, dict[str, int]]


def stand_in(columns: Sequence[str], has_rows: bool) -> pd.DataFrame:
    """A table's columns and, if it has rows, one row of missing values: all the table-level
    rules (`validate.table_failures`: an empty file, a missing column) look at, so an engine
    that never holds the whole table judges them on this (its row-level findings are not
    kept)."""
    return pd.DataFrame({c: pd.Series([None] * int(has_rows), dtype=object) for c in columns})


def _in_source_order(frame: pd.DataFrame) -> pd.DataFrame:
    if not len(frame):
        return frame.reset_index(drop=True)
    return frame.sort_values(list(SOURCE_COLUMNS), kind="stable").reset_index(drop=True)


def validate_partition(
    tables: Mapping[str, pd.DataFrame],
    template: CrmData,
    table_rows: Mapping[str, int] | None = None,
) -> PartitionResult:
    """`check_crm` on one partition; `tables` carry `SOURCE_COLUMNS`, a missing table is
    empty, `template` gives what the partition cannot know (extraction time, mapped
    columns, source) and `table_rows` each whole table's length (so the rules run on the
    path one machine would take for the whole table)."""
    sorted_tables = {
        name: _in_source_order(tables[name]) if name in tables else None for name in TABLES
    }
    plain: dict[str, pd.DataFrame] = {}
    sources: dict[str, pd.DataFrame] = {}
    for name, frame in sorted_tables.items():
        if frame is None:
            plain[name] = empty_table(name)
            sources[name] = pd.DataFrame({c: pd.Series(dtype=object) for c in SOURCE_COLUMNS})
            continue
        plain[name] = frame.drop(columns=list(SOURCE_COLUMNS))
        sources[name] = frame[list(SOURCE_COLUMNS)]
    crm = replace(
        template, leads=plain["leads"], events=plain["events"], outcomes=plain["outcomes"]
    )
    result, quarantine = check_crm(crm, table_rows)

    failures = result.failures.loc[result.failures["row"].notna()]
    parts = []
    for name in TABLES:
        mine = failures.loc[failures["file"] == name]
        pos = mine["row"].astype(np.int64).to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "file": sources[name][SOURCE_FILE].to_numpy(dtype=object)[pos],
                    "row": sources[name][SOURCE_ROW].to_numpy(dtype=np.int64)[pos],
                    "column": mine["column"].to_numpy(dtype=object),
                    "check": mine["check"].to_numpy(dtype=object),
                    "value": mine["value"].to_numpy(dtype=object),
                }
            )
        )
    held = []
    for name in TABLES:
        frame = quarantine[name]
        pos = frame["_row"].to_numpy(dtype=np.int64)
        held.append(
            pd.DataFrame(
                {
                    "table": name,
                    SOURCE_FILE: sources[name][SOURCE_FILE].to_numpy(dtype=object)[pos],
                    SOURCE_ROW: sources[name][SOURCE_ROW].to_numpy(dtype=np.int64)[pos],
                    "_failures": frame["_failures"].to_numpy(dtype=object),
                }
            )
        )
    # Valid rows keep the partition's positions as their index (validation never reorders).
    positions = result.valid.leads.index.to_numpy(dtype=np.int64)
    lead_sources = sources["leads"].iloc[positions].reset_index(drop=True)
    return PartitionResult(
        valid=result.valid,
        lead_sources=lead_sources,
        failures=pd.concat(parts, ignore_index=True)[list(FAILURE_COLUMNS)],
        quarantined=pd.concat(held, ignore_index=True)[list(QUARANTINE_COLUMNS)],
        counts=result.counts,
    )
