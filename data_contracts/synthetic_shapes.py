"""The generator's truth written in the shapes real CRM exports have: Salesforce, HubSpot.

`generate_to_folder(..., shape=...)` draws exactly the native folder's data (same seed, same
draws) and hands each chunk's contract tables here, to be rewritten as the export files a
user would download from that CRM: several tables with the CRM's own field names, ids and
picklist labels, ISO or epoch-millisecond times, stage histories, activities and
associations. The shipped mappings (`mappings/salesforce.toml`, `mappings/hubspot.toml`)
read them back; the tests check that gives the native folder's leads, events and outcomes.

Exports keep times to the millisecond, as both CRMs do; everything else is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from data_contracts.synthetic_accounts import OWNERS
from data_contracts.vocab import STAGES

SHAPES: tuple[str, ...] = ("native", "salesforce", "hubspot")


class ShapeTables(Protocol):
    """How one export shape writes a chunk of the truth."""

    def accounts(self, accounts: pa.Table) -> dict[str, pa.Table]: ...

    def account_ids(self, numbers: np.ndarray) -> pa.Array: ...

    def owner_ids(self, numbers: np.ndarray) -> pa.Array: ...

    def chunk(
        self, tables: dict[str, pa.Table], company: np.ndarray, numbers: np.ndarray
    ) -> dict[str, pa.Table]: ...

    def lead_ids(self, numbers: np.ndarray) -> pa.Array: ...


# -- values as an export writes them ------------------------------------------------------


def padded(prefix: str, numbers: np.ndarray | pa.Array, width: int, suffix: str = "") -> pa.Array:
    """`prefix` + zero-padded number + `suffix`, e.g. Salesforce-like ids `00Q000000000123AAA`."""
    text = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, text, suffix, "")


def ms(times: pa.Array | pa.ChunkedArray) -> pa.Array:
    """UTC timestamps floored to the millisecond (what a CRM keeps), without a zone."""
    naive = pc.cast(times, pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return pc.cast(pc.divide(naive, 1000), pa.timestamp("ms"))


def iso_ms(times: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Salesforce's API form: `2025-03-04T10:11:12.000+0000`."""
    text = pc.replace_substring(pc.cast(ms(times), pa.string()), " ", "T")
    return pc.binary_join_element_wise(text, "+0000", "")


def day(times: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The UTC date only (Salesforce date fields): `2025-03-04`."""
    return pc.utf8_slice_codeunits(pc.cast(ms(times), pa.string()), 0, 10)


def epoch_ms(times: pa.Array | pa.ChunkedArray) -> pa.Array:
    """HubSpot's form: milliseconds since 1970, as text."""
    return pc.cast(pc.cast(ms(times), pa.int64()), pa.string())


def relabel(values: pa.Array | pa.ChunkedArray, labels: dict[str, str]) -> pa.Array:
    """Contract vocabulary values as the CRM's picklist labels (missing stays missing)."""
    keys = pa.array(list(labels), type=pa.string())
    at = pc.index_in(pc.cast(values, pa.string()), value_set=keys)
    return pc.take(pa.array(list(labels.values()), type=pa.string()), at)


def text(values: pa.Array | pa.ChunkedArray | np.ndarray) -> pa.Array:
    """Any column as export text (numbers without a trailing `.0`, booleans lower case)."""
    arr = (
        values
        if isinstance(values, pa.Array | pa.ChunkedArray)
        else pa.array(values, from_pandas=True)  # NaN is missing
    )
    if pa.types.is_floating(arr.type):
        whole = pc.equal(arr, pc.round(arr))
        as_int = pc.cast(pc.if_else(whole, arr, None), pa.int64(), safe=False)
        return pc.if_else(whole, pc.cast(as_int, pa.string()), pc.cast(arr, pa.string()))
    if pa.types.is_boolean(arr.type):
        return pc.if_else(arr, "true", "false")
    return pc.cast(arr, pa.string())


def account_numbers(native_ids: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """The number in each native account key (`A000123` -> 123) and where there is one."""
    text = pa.array(native_ids.to_pylist(), type=pa.string())
    has = np.asarray(pc.is_valid(text).to_numpy(zero_copy_only=False), dtype=bool)
    digits = pc.fill_null(pc.utf8_slice_codeunits(text, 1), "0")
    return np.asarray(pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)), has


def owner_numbers(names: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Each account owner as a CRM user number (1 for the first of `OWNERS`), and where set."""
    at = pc.index_in(names, value_set=pa.array(OWNERS, type=pa.string()))
    has = np.asarray(pc.is_valid(at).to_numpy(zero_copy_only=False), dtype=bool)
    return np.asarray(pc.fill_null(at, 0).to_numpy(zero_copy_only=False)) + 1, has


def keyed(ids: pa.Array, has: np.ndarray) -> pa.Array:
    """`ids` where `has`, else missing."""
    return pc.if_else(pa.array(has), ids, pa.scalar(None, ids.type))


def either(first: np.ndarray, second: np.ndarray, a: str, b: str) -> pa.Array:
    """`a` where `first`, else `b` where `second`, else missing."""
    out = np.full(len(first), None, dtype=object)
    out[second] = b
    out[first] = a
    return pa.array(out, type=pa.string())


def strings(columns: dict[str, pa.Array | pa.ChunkedArray]) -> pa.Table:
    """A table of text columns (CSV writers need one schema for every chunk)."""
    return pa.table({name: text(col) for name, col in columns.items()})


@dataclass
class StageTimes:
    """Per lead of a chunk: when it reached each stage (µs, -1 = never), and the values."""

    t: dict[str, np.ndarray]
    reason: np.ndarray  # reject reason of sales_rejected (None where none)
    rating: np.ndarray  # meeting rating (float, NaN where none)
    amount: dict[str, np.ndarray]  # per stage: amount (NaN where none)

    def amount_at(self, stage: str, rows: np.ndarray) -> np.ndarray:
        """Amounts of `stage` for the leads at `rows` (NaN where none)."""
        if stage not in self.amount:
            return np.full(len(rows), np.nan)
        return self.amount[stage][rows]


def stage_times(outcomes: pa.Table, lead_ids: pa.Array) -> StageTimes:
    """Pivot a chunk's outcome rows to one row per lead (a lead enters a stage once)."""
    n = len(lead_ids)
    frame = outcomes.to_pandas()
    pos = np.asarray(
        pc.index_in(outcomes["lead_id"], value_set=lead_ids).to_numpy(zero_copy_only=False)
    )
    when = (
        frame["occurred_at"]
        .dt.tz_convert(None)
        .to_numpy()
        .astype("datetime64[us]")
        .astype(np.int64)
    )
    stages = frame["stage"].astype(str).to_numpy()
    t: dict[str, np.ndarray] = {}
    amount: dict[str, np.ndarray] = {}
    reason = np.full(n, None, dtype=object)
    rating = np.full(n, np.nan)
    amounts = frame["amount"].to_numpy(dtype=float, na_value=np.nan)
    for stage in pd.unique(stages):
        rows = np.flatnonzero(stages == stage)
        t[stage] = np.full(n, -1, dtype=np.int64)
        t[stage][pos[rows]] = when[rows]
        amount[stage] = np.full(n, np.nan)
        amount[stage][pos[rows]] = amounts[rows]
    rejected = np.flatnonzero(stages == "sales_rejected")
    reason[pos[rejected]] = frame["reject_reason"].to_numpy(dtype=object)[rejected]
    rated = np.flatnonzero(frame["meeting_rating"].notna().to_numpy())
    rating[pos[rated]] = frame["meeting_rating"].to_numpy(dtype=float, na_value=np.nan)[rated]
    return StageTimes(t=t, reason=reason, rating=rating, amount=amount)


def at(times: StageTimes, stage: str, n: int) -> np.ndarray:
    return times.t.get(stage, np.full(n, -1, dtype=np.int64))


@dataclass(frozen=True)
class ChunkStages:
    """A chunk's leads with the time each entered each stage (-1: never), as both writers
    need them: the native ids, the pivot, per-stage times, who reached an opportunity and
    when sales decided (accepted or rejected)."""

    native: pa.Array
    times: StageTimes
    t: dict[str, np.ndarray]
    has_opp: np.ndarray
    decided: np.ndarray


def chunk_stages(tables: dict[str, pa.Table]) -> ChunkStages:
    leads = tables["leads"]
    native = pa.array(leads["lead_id"].to_pylist(), type=pa.string())
    times = stage_times(tables["outcomes"], native)
    t = {s: at(times, s, leads.num_rows) for s in STAGES}
    decided = np.where(t["sales_accepted"] >= 0, t["sales_accepted"], t["sales_rejected"])
    return ChunkStages(native, times, t, t["opportunity"] >= 0, decided)


def stamps(us: np.ndarray) -> pa.Array:
    """µs times (-1 = none) as an Arrow timestamp column with nulls."""
    return pa.array(us, type=pa.int64(), mask=us < 0).cast(pa.timestamp("us", tz="UTC"))


def lead_positions(table: pa.Table, lead_ids: pa.Array) -> np.ndarray:
    return np.asarray(
        pc.index_in(table["lead_id"], value_set=lead_ids).to_numpy(zero_copy_only=False)
    )


@dataclass
class CsvFolder:
    """CSV files appended chunk by chunk (one schema per file, fixed by its first chunk)."""

    folder: Path
    writers: dict[str, pacsv.CSVWriter] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def write(self, name: str, table: pa.Table) -> None:
        if name not in self.writers:
            self.writers[name] = pacsv.CSVWriter(self.folder / name, table.schema)
            self.rows[name] = 0
        self.writers[name].write_table(table)
        self.rows[name] += table.num_rows

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
