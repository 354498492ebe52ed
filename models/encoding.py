"""Turn feature columns into the float matrix the boosters see, surviving unseen categories.

Categoricals become codes into the categories seen in training (so LightGBM's categorical
splits mean the same thing at scoring time); values never seen in training become NaN (the
booster's missing-value branch) and are reported per row as `"column=value"`.

One encoder (`encode_columns`; `encode` hands it a frame's columns). Its one size switch:
up to `SMALL_ROWS` rows a categorical column is coded by dict look-ups, beyond by pandas'
vectorised indexer, whose set-up costs more than a few hundred look-ups
(`tests/benchmarks/bench_paths.py` times both sides).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

SMALL_ROWS = 256

FloatArray = npt.NDArray[np.float64]


def learn_categories(X: pd.DataFrame, columns: Sequence[str]) -> dict[str, list[Any]]:
    """The categories each column takes in the training rows `X`, and no others.

    Why not the dtype's categories: features are built on the whole table at once, so a
    categorical's dtype lists values first seen in the validation or test window (or even in
    a closed vocabulary nobody used); counting those as known would hide exactly the leads the
    model knows nothing about. A categorical keeps its dtype's order, anything else sorts.
    """
    out: dict[str, list[Any]] = {}
    for col in columns:
        s = X[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = np.unique(s.cat.codes.to_numpy())
            cats = list(s.cat.categories[codes[codes >= 0]])
        else:
            cats = sorted(pd.unique(s.dropna()).tolist(), key=str)
        out[col] = cats
    return out


def category_lookups(categories: Mapping[str, Sequence[Any]]) -> dict[str, dict[Any, int]]:
    """Value -> code per categorical column (string keys when all categories are strings,
    so values compare by `str`, as the vectorised path does)."""
    out: dict[str, dict[Any, int]] = {}
    for col, cats in categories.items():
        as_str = all(isinstance(c, str) for c in cats)
        out[col] = {(str(c) if as_str else c): i for i, c in enumerate(cats)}
    return out


def _as_float(values: Any) -> FloatArray:
    """A numeric feature column as float64 (booleans 0/1, unreadable text NaN)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        return values.astype(np.float64, copy=False)
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if s.dtype == bool or isinstance(s.dtype, pd.BooleanDtype):
        return np.asarray(s.astype("Float64").to_numpy(dtype=float, na_value=np.nan))
    if not pd.api.types.is_numeric_dtype(s.dtype):
        s = pd.to_numeric(s, errors="coerce")
    return np.asarray(s.to_numpy(dtype=float, na_value=np.nan), dtype=np.float64)


def _labels(values: Any) -> list[Any]:
    """Plain Python values of a column (a Categorical reads its labels by code)."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        values = values.array
    if isinstance(values, pd.Categorical):
        cats = values.categories
        return [None if c < 0 else cats[c] for c in values.codes.tolist()]
    if isinstance(values, pd.Series):
        return values.tolist()
    return list(values)


def _look_up(
    values: Sequence[Any],
    col: str,
    lookup: Mapping[Any, int],
    out: FloatArray,
    unseen_rows: list[list[str]],
) -> None:
    """Category codes of a few values into `out`: NaN for missing, NaN and reported for
    values training never saw."""
    as_str = isinstance(next(iter(lookup), ""), str)
    for i, v in enumerate(values):
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            out[i] = np.nan
            continue
        code = lookup.get(str(v) if as_str else v)
        if code is None:
            out[i] = np.nan
            unseen_rows[i].append(f"{col}={v}")
        else:
            out[i] = code


def _index_codes(
    values: Any, col: str, categories: Sequence[Any], out: FloatArray, unseen_rows: list[list[str]]
) -> None:
    """`_look_up` for many rows, through one vectorised `Index.get_indexer`."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    index = pd.Index(categories)
    all_str = all(isinstance(c, str) for c in categories)
    if isinstance(s.dtype, pd.CategoricalDtype):
        own = s.cat.categories
        if all_str:
            own = own.astype(str)
        mapping = index.get_indexer(own)
        raw_codes = s.cat.codes.to_numpy()
        null = raw_codes < 0
        codes = np.where(null, -1, mapping[np.maximum(raw_codes, 0)]) if len(own) else raw_codes
        shown = np.asarray(s.astype(object), dtype=object)
    else:
        shown = s.to_numpy(dtype=object)
        null = np.asarray(pd.isna(shown), dtype=bool)
        lookup: npt.NDArray[Any] = shown
        if all_str and not null.all():
            lookup = shown.astype(str).astype(object)  # null rows are masked below
        codes = index.get_indexer(lookup)
    out[:] = np.where(codes < 0, np.nan, codes.astype(float))
    for i in np.flatnonzero((~null) & (codes < 0)):
        unseen_rows[i].append(f"{col}={shown[i]}")


def encode_columns(
    cols: Mapping[str, Any],
    n: int,
    columns: Sequence[str],
    categories: Mapping[str, Sequence[Any]],
    lookups: Mapping[str, Mapping[Any, int]] | None = None,
) -> tuple[FloatArray, list[list[str]]]:
    """(n, len(columns)) float matrix and, per row, the unseen categorical values, from
    plain columns (name -> array, Series or Categorical of n values)."""
    missing = [c for c in columns if c not in cols]
    if missing:
        raise ValueError(f"feature columns missing: {missing}")
    small = n <= SMALL_ROWS
    if small and lookups is None:
        lookups = category_lookups({c: categories[c] for c in columns if c in categories})
    matrix = np.empty((n, len(columns)), dtype=np.float64)
    unseen_rows: list[list[str]] = [[] for _ in range(n)]
    for j, col in enumerate(columns):
        values = cols[col]
        if col not in categories:
            matrix[:, j] = _as_float(values)
        elif small:
            assert lookups is not None
            _look_up(_labels(values), col, lookups[col], matrix[:, j], unseen_rows)
        else:
            _index_codes(values, col, categories[col], matrix[:, j], unseen_rows)
    return matrix, unseen_rows


def encode(
    X: pd.DataFrame,
    columns: Sequence[str],
    categories: Mapping[str, Sequence[Any]],
    lookups: Mapping[str, Mapping[Any, int]] | None = None,
) -> tuple[FloatArray, list[list[str]]]:
    """`encode_columns` on a frame's columns."""
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ValueError(f"feature columns missing from the frame: {missing}")
    return encode_columns({c: X[c] for c in columns}, len(X), columns, categories, lookups)
