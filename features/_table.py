"""A table is a DataFrame or a plain mapping of column name -> 1-D array, same length each.

Training and `handoff score` pass DataFrames; the API passes plain numpy columns, because
building a one-row DataFrame (and reading it back column by column) costs more than the
features themselves. The feature code reads both through these helpers, so there is still
one copy of every feature; the frame helpers (`lead_index`, `make_frame`) live here too.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from features._time import epoch_us

Table: TypeAlias = pd.DataFrame | Mapping[str, Any]


def has_column(table: Table, name: str) -> bool:
    if isinstance(table, pd.DataFrame):
        return name in table.columns
    return name in table


def n_rows(table: Table, key: str = "lead_id") -> int:
    """Row count; a mapping counts its `key` column (else its first column)."""
    if isinstance(table, pd.DataFrame):
        return len(table)
    if key in table:
        return len(table[key])
    return len(next(iter(table.values()))) if table else 0


def resolve_extras(leads: Table, extras: Mapping[str, str] | Sequence[str]) -> dict[str, str]:
    """`{column: kind}`; a bare name's kind comes from its values (numbers, bools -> numeric).

    Pass explicit kinds at scoring time (`FeatureSet.extras`): one lead's dtype can differ
    from the training frame's (a JSON null reads as object).
    """
    if isinstance(extras, Mapping):
        return {str(k): str(v) for k, v in extras.items()}
    out: dict[str, str] = {}
    for col in extras:
        if not has_column(leads, col):
            out[str(col)] = "numeric"
            continue
        s = pd.Series(leads[col]) if not isinstance(leads, pd.DataFrame) else leads[col]
        numeric = s.dtype == bool or pd.api.types.is_numeric_dtype(s.dtype)
        if not numeric:
            parsed = pd.to_numeric(s, errors="coerce")
            numeric = bool(parsed.notna().sum() == s.notna().sum())  # all-missing -> numeric
        out[str(col)] = "numeric" if numeric else "categorical"
    return out


def lead_index(leads: Table) -> pd.Index:
    """The frame index: `lead_id` (column or index) in the order of `leads`."""
    if not isinstance(leads, pd.DataFrame):
        return pd.Index(leads["lead_id"], name="lead_id", dtype=object)
    if "lead_id" in leads.columns:
        return pd.Index(leads["lead_id"].array, name="lead_id")
    return pd.Index(leads.index.array, name="lead_id")


@functools.lru_cache(maxsize=64)
def _column_index(names: tuple[str, ...]) -> pd.Index:
    """Column labels, built once per feature layout (an Index is immutable, so shareable)."""
    return pd.Index(names, dtype=object)


def make_frame(columns: Mapping[str, Any], index: pd.Index) -> pd.DataFrame:
    """A frame from column arrays, without the per-column checks of `pd.DataFrame(dict)`.

    `_from_arrays` is ~3x faster for one row (it matters in the 10 ms API budget); it is
    private pandas API, so fall back to the public constructor if it ever goes away.
    """
    from_arrays = getattr(pd.DataFrame, "_from_arrays", None)
    if from_arrays is not None:
        try:
            frame: pd.DataFrame = from_arrays(
                list(columns.values()),
                columns=_column_index(tuple(columns)),
                index=index,
                verify_integrity=False,
            )
            return frame
        except TypeError:
            pass
    return pd.DataFrame(columns, index=index)


def plain_columns(frame: pd.DataFrame) -> dict[str, Any]:
    """A frame as the API hands tables over: numpy columns, text as object arrays (None for
    missing), times as int64 µs since the epoch."""
    out: dict[str, Any] = {}
    for name in frame.columns:
        s = frame[name]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            out[name] = epoch_us(s)
        elif s.dtype == bool:
            out[name] = s.to_numpy(dtype=bool)
        elif pd.api.types.is_numeric_dtype(s.dtype):
            out[name] = s.to_numpy(dtype=float, na_value=np.nan)
        else:
            out[name] = s.astype(object).where(s.notna(), None).to_numpy(dtype=object)
    return out
