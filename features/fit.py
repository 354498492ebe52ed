"""Fit features: who the lead is (firmographics, role, reachability), from the lead row alone.

Fit features are static: they read only the lead row, so they carry no time and cannot leak
outcomes (mapped columns known to leak are dropped by the mapping, see `excluded_columns`).

Why factorize-then-map: string work (strip, email domain, title keywords) runs once per
*distinct* value (`pd.factorize`, a hash pass), then spreads back with one numpy take. A
million leads share a few thousand titles, and one lead pays microseconds rather than the
~100 µs each pandas `.str` call costs on a one-row Series.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from data_contracts.vocab import FREE_MAIL_DOMAINS, FUNCTIONS, SENIORITIES, SOURCES
from features._table import Table, has_column, lead_index, make_frame, n_rows, resolve_extras
from features.feature_sets import FIT_V1, FeatureSpec

_FREE_MAIL = frozenset(FREE_MAIL_DOMAINS)
_TITLE_HEAD = re.compile(r"\bhead\b", re.IGNORECASE)
_TITLE_CHIEF = re.compile(
    r"\bchief\b|\bc[eftmoi]o\b|\bfounder\b|\bowner\b|(?<!vice )\bpresident\b", re.IGNORECASE
)
_TRUE_STRINGS = frozenset({"true", "t", "1", "yes", "y"})
_CLOSED: dict[str, pd.CategoricalDtype] = {
    "seniority": pd.CategoricalDtype(list(SENIORITIES)),
    "function": pd.CategoricalDtype(list(FUNCTIONS)),
    "source": pd.CategoricalDtype(list(SOURCES)),
}

Columns = dict[str, Any]
Column = pd.Series | npt.NDArray[np.object_]
I8 = npt.NDArray[np.int8]


# At most this many rows (an API call), skip the hash pass: mapping each value directly is
# the same `fn` on the same values, only without pandas' fixed cost per call.
SMALL = 64


def _values(leads: Table, name: str) -> Column:
    """A column (Series or array), or an all-None object array when absent: a sparse API
    payload must not crash scoring."""
    if not has_column(leads, name):
        return np.full(n_rows(leads), None, dtype=object)
    values: Column = leads[name]
    return values


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _clean(value: Any) -> str | None:
    """Stripped text, or None for missing/empty."""
    if _missing(value):
        return None
    text = str(value).strip()
    return text or None


def _factorize(values: Column) -> tuple[npt.NDArray[np.intp], Any]:
    """(codes, distinct values); few rows skip the hash pass (same values, less overhead)."""
    if len(values) <= SMALL:  # iterating is ~20x cheaper than an object array for one row
        return np.arange(len(values)), list(
            values.array if isinstance(values, pd.Series) else values
        )
    codes, uniques = pd.factorize(values)  # pyarrow strings: dictionary-encoded in C++
    return np.asarray(codes), uniques


def _per_unique(values: Column, fn: Callable[[Any], Any], missing: Any, dtype: Any) -> Any:
    """`fn` applied once per distinct non-missing value, spread back; missing -> `missing`."""
    codes, uniques = _factorize(values)
    mapped = np.array([*(missing if _missing(u) else fn(u) for u in uniques), missing], dtype=dtype)
    return mapped[codes]  # code -1 (missing) picks the appended `missing`


def _present(values: Column) -> I8:
    """1 when there is non-blank text (contact fields are nearly all distinct, so many rows
    use one vectorised strip instead of a per-value check)."""
    if len(values) > SMALL and isinstance(values, pd.Series):
        text = values.astype("str").str.strip()
        return (values.notna() & text.notna() & (text != "")).to_numpy().astype(np.int8)
    return _per_unique(values, lambda u: _clean(u) is not None, 0, np.int8)  # type: ignore[no-any-return]


def _email_corporate(values: Column) -> I8:
    """1 when the email has a domain (after the last '@') that is not a free-mail provider.

    Emails are nearly all distinct, so many rows first reduce each to its domain in one
    vectorised pass; the per-value check then runs once per domain.
    """

    def corporate_domain(domain: Any) -> bool:
        text = str(domain).strip().lower()
        return bool(text) and text not in _FREE_MAIL

    def corporate(email: Any) -> bool:
        text = str(email)
        return "@" in text and corporate_domain(text.rsplit("@", 1)[1])

    if len(values) > SMALL and isinstance(values, pd.Series):
        domains = values.astype("str").str.extract(r"@([^@]*)$", expand=False)
        return _per_unique(domains, corporate_domain, 0, np.int8)  # type: ignore[no-any-return]
    return _per_unique(values, corporate, 0, np.int8)  # type: ignore[no-any-return]


def _title_has(values: Column, pattern: re.Pattern[str]) -> I8:
    return _per_unique(values, lambda u: pattern.search(str(u)) is not None, 0, np.int8)  # type: ignore[no-any-return]


def _flag(leads: Table, name: str) -> I8:
    """Truthiness of a boolean-ish column (bool, 0/1, 'true'/'yes'); missing -> 0."""
    values = _values(leads, name)
    if values.dtype == bool:
        return np.asarray(values, dtype=np.int8)

    def truthy(u: Any) -> bool:
        if isinstance(u, bool | int | float | np.number | np.bool_):
            return bool(u == u and u != 0)
        return str(u).strip().lower() in _TRUE_STRINGS

    return _per_unique(values, truthy, 0, np.int8)  # type: ignore[no-any-return]


def _number(leads: Table, name: str) -> npt.NDArray[np.float64]:
    if not has_column(leads, name):
        return np.full(n_rows(leads), np.nan)
    s = leads[name]
    if isinstance(s, np.ndarray) and s.dtype.kind in "biuf":
        return np.asarray(s, dtype=np.float64)
    if not isinstance(s, pd.Series):
        s = pd.Series(s)
    if s.dtype == bool:
        return np.asarray(s.to_numpy(), dtype=np.float64)
    if not pd.api.types.is_numeric_dtype(s.dtype):
        s = pd.to_numeric(s, errors="coerce")
    return np.asarray(s.to_numpy(dtype=float, na_value=np.nan), dtype=np.float64)


def _closed_categorical(values: Column, dtype: pd.CategoricalDtype) -> pd.Categorical:
    """Codes into a closed vocabulary; values outside it become missing (never an error)."""
    lookup = _category_codes(dtype)
    codes = _per_unique(values, lambda u: lookup.get(_clean(u), -1), -1, np.int64)
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


@functools.lru_cache(maxsize=16)
def _category_codes(dtype: pd.CategoricalDtype) -> dict[Any, int]:
    """Value -> code of a closed vocabulary, built once (reading arrow-backed categories
    costs more than coding one lead)."""
    return {c: i for i, c in enumerate(dtype.categories)}


def _open_categorical(values: Column) -> pd.Categorical:
    """Categories are the observed (stripped) values, sorted so runs are reproducible."""
    codes, uniques = _factorize(values)
    cleaned = [_clean(u) for u in uniques]
    categories = sorted({c for c in cleaned if c is not None})
    rank = {c: i for i, c in enumerate(categories)}
    remap = np.array([*(rank.get(c, -1) if c else -1 for c in cleaned), -1], dtype=np.int64)
    return pd.Categorical.from_codes(remap[codes], dtype=_dtype(tuple(categories)), validate=False)


def as_text(values: pd.Series) -> npt.NDArray[np.object_]:
    """A categorical feature's values as an object array of text, None where missing."""
    return values.astype(object).where(values.notna(), None).to_numpy(dtype=object)


def recoded(name: str, values: Column) -> pd.Categorical:
    """Categorical feature `name` coded afresh from its values as text (gathered from
    several parts of the leads) by the rule that built it: a closed vocabulary keeps its
    declared categories, any other takes the sorted values observed over all of them --
    what one frame of all the leads would have been given."""
    closed = _CLOSED.get(name)
    return _open_categorical(values) if closed is None else _closed_categorical(values, closed)


@functools.lru_cache(maxsize=4096)
def _dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """Category dtypes are immutable; building one costs ~50x the codes for a single lead."""
    return pd.CategoricalDtype(pd.Index(categories, dtype=object))


def extra_columns_arrays(leads: Table, specs: Iterable[FeatureSpec]) -> Columns:
    """Mapped extra lead columns (specs with a `source`): numeric -> float64, else category."""
    out: Columns = {}
    for spec in specs:
        if spec.source is None:
            continue
        if spec.kind == "numeric":
            out[spec.name] = _number(leads, spec.source)
        else:
            out[spec.name] = _open_categorical(_values(leads, spec.source))
    return out


def fit_arrays(leads: Table) -> Columns:
    """The `FIT_V1` columns as arrays, in order."""
    email = _values(leads, "email")
    title = _values(leads, "title")
    employees = _number(leads, "employees")
    revenue = _number(leads, "annual_revenue")
    with np.errstate(invalid="ignore", divide="ignore"):
        log_employees = np.log10(np.clip(employees, 1.0, None))
        log_revenue = np.log10(1.0 + np.clip(revenue, 0.0, None))
    out: Columns = {
        "industry": _open_categorical(_values(leads, "industry")),
        "country": _open_categorical(_values(leads, "country")),
        **{
            name: _closed_categorical(_values(leads, name), dtype)
            for name, dtype in _CLOSED.items()
        },
        "log_employees": log_employees,
        "log_revenue": log_revenue,
        "employees_missing": np.isnan(employees).astype(np.int8),
        "revenue_missing": np.isnan(revenue).astype(np.int8),
        "is_named_account": _flag(leads, "is_named_account"),
        "email_present": _present(email),
        "email_corporate": _email_corporate(email),
        "phone_present": _present(_values(leads, "phone")),
        "mobile_present": _present(_values(leads, "mobile")),
        "title_present": _present(title),
        "title_head_of": _title_has(title, _TITLE_HEAD),
        "title_chief": _title_has(title, _TITLE_CHIEF),
    }
    return out


def fit_features(
    leads: pd.DataFrame, extra_columns: Mapping[str, str] | Sequence[str] = ()
) -> pd.DataFrame:
    """Fit features indexed by `lead_id`, in the order of `leads`."""
    feature_set = FIT_V1.with_extras(resolve_extras(leads, extra_columns))
    cols = fit_arrays(leads)
    cols.update(extra_columns_arrays(leads, feature_set.features))
    return make_frame(cols, lead_index(leads))
