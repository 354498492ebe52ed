"""A mapping's extra inputs as lead columns: export columns with their words, values derived
from a timestamp (weekday, hour) or counted from a linked table, and the identifier guard.

Numbers become float, everything else a category; a categorical column that looks like an
identifier (`id_like`) is refused unless the mapping says why it stays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_contracts.export_report import ExtraReport
from data_contracts.id_like import id_like
from data_contracts.mapping_apply import Export, mapped
from data_contracts.mapping_readers import MappingError
from data_contracts.mapping_spec import Extra, ValueRule

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _derived(export: Export, extra: Extra, created: pd.Series) -> pd.Series:
    m = export.mapping
    n = export.n_leads
    key = f"extras.{extra.name}"
    assert extra.at is not None and extra.table is not None
    if extra.derive == "count":
        rows, lead = export.rows(extra.table)
        stamps, _ = export.times(extra.table, extra.at, f"{key}.at")
        at = stamps.iloc[rows].to_numpy()
        before = pd.Series(at).lt(created.iloc[lead].to_numpy()).to_numpy(dtype=bool)
        counts = np.bincount(lead[before], minlength=n).astype("float64")
        return pd.Series(counts)
    stamps, bad = export.times(extra.table, extra.at, f"{key}.from")
    raw = export.per_lead(extra.table, str(extra.at.column), f"{key}.from")
    if extra.table != m.lead_table:
        at = export.join_row[extra.table]
        stamps = stamps.iloc[np.maximum(at, 0)].reset_index(drop=True).where(pd.Series(at >= 0))
        bad = bad[np.maximum(at, 0)] & (at >= 0)
    check = f"not a valid timestamp ({extra.at.format})"
    export.fail("leads", np.flatnonzero(bad).astype(np.int64), extra.name, check, raw[bad])
    # The weekday and hour a person there would name: in the mapping's zone.
    local = stamps.dt.tz_convert(extra.at.zone)
    if extra.derive == "hour":
        hour = local.dt.hour.astype("float64")
        if extra.kind == "numeric":
            return hour
        return hour.map(lambda h: f"{h:02.0f}:00", na_action="ignore").astype(object)
    names = np.array([*_WEEKDAYS, None], dtype=object)
    day = local.dt.dayofweek.fillna(7).astype(int).to_numpy()
    return pd.Series(names[day], dtype=object)


def extra_columns(export: Export, created: pd.Series) -> tuple[pd.DataFrame, list[ExtraReport]]:
    """The mapping's extras as lead columns (numbers as float, the rest as categories);
    a categorical one that looks like an identifier is refused unless declared."""
    m = export.mapping
    n = export.n_leads
    out: dict[str, pd.Series] = {}
    reports: list[ExtraReport] = []
    for name, extra in m.extras.items():
        if extra.derive is not None:
            values = _derived(export, extra, created)
        else:
            assert extra.column is not None and extra.table is not None
            values = export.per_lead(extra.table, extra.column, f"extras.{name}.from")
            if extra.values or extra.default is not None:
                values = mapped(
                    values,
                    ValueRule(column=extra.column, values=extra.values, default=extra.default),
                    n,
                )
        column: pd.Series
        if extra.kind == "numeric":
            column = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            column = values.astype("category")
            looks = id_like(column) if extra.derive is None else None
            if looks and not extra.id_like:
                raise MappingError(
                    f"extras.{name} ({extra.label}): looks like an identifier, not something a "
                    f"lead is or does: {looks}. A model cannot carry it to new leads and a "
                    "reason would print it as a code: map it to words (map = {...}), drop it, "
                    'or keep it with id_like = "why"'
                )
        out[name] = column
        reports.append(
            ExtraReport(
                name=name,
                role=extra.role,
                kind=extra.kind,
                label=extra.label or name,
                distinct=int(column.nunique()),
                missing_share=float(column.isna().mean()) if n else 0.0,
                id_like=extra.id_like,
            )
        )
    return pd.DataFrame(out, index=pd.RangeIndex(n)), reports
