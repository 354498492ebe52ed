"""`build_features`: the one entry point training, batch scoring and the API all call.

It assembles fit and interest columns into a single frame in one `pd.DataFrame(dict)` call
(concatenating two frames costs more than computing one lead's features), and returns the
feature sets that describe the columns, so a run can log exactly what the model saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features._table import Table, lead_index, make_frame, resolve_extras
from features.feature_sets import (
    DEFAULT_HALF_LIFE_DAYS,
    FIT_READS,
    FIT_V1,
    INTEREST_V1,
    FeatureSet,
)
from features.fit import as_text, extra_columns_arrays, fit_arrays, recoded
from features.interest import as_of_array, interest_arrays, weights

Extras = Mapping[str, str] | Sequence[str]


@dataclass
class FeatureFrame:
    """Features by lead_id plus which columns belong to which model and how they are typed."""

    frame: pd.DataFrame
    fit_columns: list[str]
    interest_columns: list[str]
    categorical_columns: list[str]
    feature_sets: list[FeatureSet] = field(default_factory=list)

    def without(self, columns: Sequence[str]) -> FeatureFrame:
        """The same features minus `columns` (frame, column lists and the sets' specs), so
        the sets' labels name what a model was really trained on."""
        drop = set(columns)
        sets = [
            replace(fs, features=tuple(f for f in fs.features if f.name not in drop))
            for fs in self.feature_sets
        ]
        return FeatureFrame(
            frame=self.frame.drop(columns=[c for c in self.frame.columns if c in drop]),
            fit_columns=[c for c in self.fit_columns if c not in drop],
            interest_columns=[c for c in self.interest_columns if c not in drop],
            categorical_columns=[c for c in self.categorical_columns if c not in drop],
            feature_sets=sets,
        )


def feature_sets(
    fit_kinds: Mapping[str, str],
    interest_kinds: Mapping[str, str],
    *,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    type_weights: Mapping[str, float] | None = None,
    absent_fields: Sequence[str] = (),
    words: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[FeatureSet, FeatureSet]:
    """The fit and interest sets for these extra columns (and their `words`), interest
    parameters and absent lead fields (their features left out)."""
    fit_set = FIT_V1.without_fields(absent_fields, FIT_READS).with_extras(fit_kinds, words=words)
    interest_set = replace(
        INTEREST_V1.with_extras(interest_kinds, taken=fit_set.columns, words=words),
        params={"half_life_days": float(half_life_days), "type_weights": weights(type_weights)},
    )
    return fit_set, interest_set


def feature_columns(
    leads: Table,
    events: Table,
    ids: pd.Index | Sequence[Any],
    as_of_us: npt.NDArray[np.int64],
    fit_set: FeatureSet,
    interest_set: FeatureSet,
) -> dict[str, Any]:
    """Every feature column as an array, one row per lead in `ids` (the order of `leads`).

    The core of `build_features`, without the DataFrame: the API scores one lead from plain
    columns with it, and pays for no frame it would only read back.
    """
    params = interest_set.params
    built = fit_arrays(leads)
    cols = {name: built[name] for name in fit_set.columns if name in built}
    cols.update(extra_columns_arrays(leads, fit_set.features))
    cols.update(
        interest_arrays(
            events,
            ids,
            as_of_us,
            half_life_days=float(params["half_life_days"]),
            type_weights=params.get("type_weights"),
        )
    )
    cols.update(extra_columns_arrays(leads, interest_set.features))
    return cols


def build_features(
    leads: Table,
    events: Table,
    as_of: Any,
    *,
    fit_extras: Extras = (),
    interest_extras: Extras = (),
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    type_weights: Mapping[str, float] | None = None,
    absent_fields: Sequence[str] = (),
    extra_words: Mapping[str, Mapping[str, str]] | None = None,
) -> FeatureFrame:
    """Fit + interest features for every lead in `leads` (same order), as of `as_of`.

    `as_of`: Series of UTC timestamps indexed by lead_id, a single Timestamp, or None (now).
    Only events with `occurred_at < as_of` of their lead are seen. `fit_extras` /
    `interest_extras`: mapped lead columns, `{name: "numeric"|"categorical"}` or names whose
    kind is inferred from the dtype (pass kinds when scoring: `FeatureSet.extras`), said in
    `extra_words`. Features of `absent_fields` (lead fields the data lacks) are left out.
    """
    ids = lead_index(leads)
    fit_set, interest_set = feature_sets(
        resolve_extras(leads, fit_extras),
        resolve_extras(leads, interest_extras),
        half_life_days=half_life_days,
        type_weights=type_weights,
        absent_fields=absent_fields,
        words=extra_words,
    )
    cols = feature_columns(leads, events, ids, as_of_array(as_of, ids), fit_set, interest_set)
    frame = make_frame(cols, ids)
    return FeatureFrame(
        frame=frame,
        fit_columns=fit_set.columns,
        interest_columns=interest_set.columns,
        categorical_columns=fit_set.categorical_columns + interest_set.categorical_columns,
        feature_sets=[fit_set, interest_set],
    )


def concat_features(parts: Sequence[FeatureFrame], order: npt.NDArray[np.intp]) -> FeatureFrame:
    """`build_features` of disjoint groups of leads (built alike: same feature sets) as one
    frame, its rows the parts' rows taken in `order` (positions in their concatenation).

    Numbers are the same per lead whichever group it was built in; a categorical column
    is coded again over all the parts' values (`fit.recoded`), as one frame of all the
    leads would have been.
    """
    first = parts[0]
    index = first.frame.index.append([p.frame.index for p in parts[1:]]).take(order)
    columns: dict[str, Any] = {}
    for name in first.frame.columns:
        series = [p.frame[name] for p in parts]
        if isinstance(series[0].dtype, pd.CategoricalDtype):
            columns[name] = recoded(name, np.concatenate([as_text(s) for s in series])[order])
        else:
            columns[name] = np.concatenate([s.to_numpy() for s in series])[order]
    return replace(first, frame=make_frame(columns, index))
