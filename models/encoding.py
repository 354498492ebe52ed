"""Turn a feature frame into the float matrix the boosters see, surviving unseen categories.

Categoricals become codes into the categories seen in training (so LightGBM's categorical
splits mean the same thing at scoring time); values never seen in training become NaN (the
booster's missing-value branch) and are reported per row as `"column=value"`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd


def learn_categories(X: pd.DataFrame, columns: Sequence[str]) -> dict[str, list[Any]]:
    """Training categories per categorical column (the dtype's, else sorted observed values)."""
    out: dict[str, list[Any]] = {}
    for col in columns:
        s = X[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = list(s.cat.categories)
        else:
            cats = sorted(pd.unique(s.dropna()).tolist(), key=str)
        out[col] = cats
    return out


def _encode_categorical(
    s: pd.Series, categories: Sequence[Any]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[Any]]:
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
        values = np.asarray(s.astype(object), dtype=object)
    else:
        values = s.to_numpy(dtype=object)
        null = np.asarray(pd.isna(values), dtype=bool)
        lookup: npt.NDArray[Any] = values
        if all_str and not null.all():
            lookup = values.astype(str).astype(object)  # null rows are masked below
        codes = index.get_indexer(lookup)
    unseen = (~null) & (codes < 0)
    encoded = np.where(codes < 0, np.nan, codes.astype(float))
    return encoded, unseen, values


_SMALL = 16


def _encode_small(
    X: pd.DataFrame,
    columns: Sequence[str],
    categories: Mapping[str, Sequence[Any]],
    matrix: npt.NDArray[np.float64],
    unseen_rows: list[list[str]],
) -> None:
    """Dict look-ups for a handful of rows (the live single-lead path): no Index building."""
    lookups = category_lookups(categories)
    for j, col in enumerate(columns):
        if col in categories:
            _look_up(X[col].tolist(), col, lookups[col], matrix[:, j], unseen_rows)


def _look_up(
    values: Sequence[Any],
    col: str,
    lookup: Mapping[Any, int],
    out: npt.NDArray[np.float64],
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


def encode(
    X: pd.DataFrame, columns: Sequence[str], categories: Mapping[str, Sequence[Any]]
) -> tuple[npt.NDArray[np.float64], list[list[str]]]:
    """(n, len(columns)) float matrix and, per row, the unseen categorical values."""
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ValueError(f"feature columns missing from the frame: {missing}")
    n = len(X)
    matrix = np.empty((n, len(columns)), dtype=np.float64)
    unseen_rows: list[list[str]] = [[] for _ in range(n)]
    numeric = [j for j, c in enumerate(columns) if c not in categories]
    done: set[int] = set()
    if numeric:
        try:  # one block conversion: much cheaper than per column for one-row frames
            block = X[[columns[j] for j in numeric]].to_numpy(dtype=np.float64, na_value=np.nan)
            matrix[:, numeric] = block
            done = set(numeric)
        except (TypeError, ValueError):
            pass
    if n <= _SMALL and all(isinstance(v, list) for v in categories.values()):
        _encode_small(X, columns, categories, matrix, unseen_rows)
        done |= {j for j, c in enumerate(columns) if c in categories}
    for j, col in enumerate(columns):
        if j in done:
            continue
        s = X[col]
        if col in categories:
            encoded, unseen, values = _encode_categorical(s, categories[col])
            matrix[:, j] = encoded
            for i in np.flatnonzero(unseen):
                unseen_rows[i].append(f"{col}={values[i]}")
        elif s.dtype == bool or isinstance(s.dtype, pd.BooleanDtype):
            matrix[:, j] = s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        else:
            num = s if pd.api.types.is_numeric_dtype(s.dtype) else pd.to_numeric(s, errors="coerce")
            matrix[:, j] = num.to_numpy(dtype=float, na_value=np.nan)
    return matrix, unseen_rows


def category_lookups(categories: Mapping[str, Sequence[Any]]) -> dict[str, dict[Any, int]]:
    """Value -> code per categorical column (string keys when all categories are strings,
    matching `encode`, which compares by `str`)."""
    out: dict[str, dict[Any, int]] = {}
    for col, cats in categories.items():
        as_str = all(isinstance(c, str) for c in cats)
        out[col] = {(str(c) if as_str else c): i for i, c in enumerate(cats)}
    return out


def _labels(values: Any) -> list[Any]:
    """Plain Python values of a column (a Categorical reads its labels by code)."""
    if isinstance(values, pd.Categorical):
        cats = values.categories
        return [None if c < 0 else cats[c] for c in values.codes.tolist()]
    if isinstance(values, pd.Series):
        return values.tolist()
    return list(values)


def encode_columns(
    cols: Mapping[str, Any],
    n: int,
    columns: Sequence[str],
    categories: Mapping[str, Sequence[Any]],
    lookups: Mapping[str, Mapping[Any, int]] | None = None,
) -> tuple[npt.NDArray[np.float64], list[list[str]]]:
    """`encode` for plain columns (name -> array), the API's few-row path: same matrix and
    unseen values as `encode` on the frame those columns would make, without the frame.

    Many rows fall back to `encode` on a frame (its vectorised look-ups win there).
    """
    missing = [c for c in columns if c not in cols]
    if missing:
        raise ValueError(f"feature columns missing: {missing}")
    if n > _SMALL:
        frame = pd.DataFrame({c: cols[c] for c in columns}, index=pd.RangeIndex(n), copy=False)
        return encode(frame, columns, categories)
    if lookups is None:
        lookups = category_lookups(categories)
    matrix = np.empty((n, len(columns)), dtype=np.float64)
    unseen_rows: list[list[str]] = [[] for _ in range(n)]
    for j, col in enumerate(columns):
        values = cols[col]
        if col not in categories:
            if isinstance(values, pd.Series | pd.Categorical) or values.dtype == object:
                values = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(
                    dtype=float, na_value=np.nan
                )
            matrix[:, j] = values
            continue
        _look_up(_labels(values), col, lookups[col], matrix[:, j], unseen_rows)
    return matrix, unseen_rows
