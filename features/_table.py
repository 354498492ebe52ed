"""A table is a DataFrame or a plain mapping of column name -> 1-D array, same length each.

Training and `handoff score` pass DataFrames; the API passes plain numpy columns, because
building a one-row DataFrame (and reading it back column by column) costs more than the
features themselves. The feature code reads both through these three helpers, so there is
still one copy of every feature.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import pandas as pd

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
