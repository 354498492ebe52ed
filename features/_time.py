"""Timestamps as int64 microseconds since the epoch (UTC), so comparisons are plain numpy.

Every feature and label computation works on these integers: one conversion at the edge,
no tz-aware pandas arithmetic per lead. `NAT` marks a missing time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

NAT: int = int(np.iinfo(np.int64).min)
US_PER_DAY: float = 86_400e6

I64 = npt.NDArray[np.int64]


def epoch_us(values: Any) -> I64:
    """int64 µs since epoch (UTC) of a Series/Index/array of times; naive times count as UTC.

    An int64 array is taken to be µs since epoch already (the API builds those directly).
    """
    if isinstance(values, np.ndarray):
        if values.dtype == np.int64:
            return values
        if values.dtype.kind == "M":
            return values.astype("datetime64[us]").view(np.int64)
    if isinstance(values, pd.Series):
        dtype = values.dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            arr = values.to_numpy(dtype=f"datetime64[{dtype.unit}]", na_value=np.datetime64("NaT"))
            return arr.astype("datetime64[us]").view(np.int64)
        if isinstance(dtype, np.dtype) and np.issubdtype(dtype, np.datetime64):
            return values.to_numpy().astype("datetime64[us]").view(np.int64)
    idx = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    return np.asarray(idx.as_unit("us").asi8, dtype=np.int64)


def scalar_us(value: Any) -> int:
    """One timestamp as µs since epoch; NaT/None -> `NAT`."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return NAT
    # `.value` is ns since the epoch in UTC for aware stamps, and naive ones count as UTC.
    return int(pd.Timestamp(value).value) // 1000


def from_epoch_us(values: I64) -> pd.DatetimeIndex:
    """Inverse of `epoch_us`: a `datetime64[us, UTC]` index (NAT -> NaT)."""
    return pd.DatetimeIndex(values.view("datetime64[us]")).tz_localize("UTC")
