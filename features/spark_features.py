"""Feature rows as Spark carries them, and back: the features themselves are never rebuilt.

On Spark, `features.build` runs unchanged inside a pandas UDF, one bucket of leads at a
time. A Spark column has no pandas categorical, so a categorical feature travels as its
text (`as_rows`) and is coded again on the driver by the same rules that built it
(`restore_features`): a closed vocabulary keeps its declared categories, any other
takes the sorted values observed over all buckets -- what one machine would have built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.feature_sets import FeatureSet
from features.fit import as_text, recoded


def feature_ddl(feature_sets: Sequence[FeatureSet]) -> str:
    """The sets' columns as a Spark DDL fragment (categoricals as text, numbers as double)."""
    return ", ".join(
        f"`{spec.name}` {'string' if spec.kind == 'categorical' else 'double'}"
        for fs in feature_sets
        for spec in fs.features
    )


def as_rows(frame: pd.DataFrame, categorical_columns: Sequence[str]) -> pd.DataFrame:
    """A feature frame with categoricals as text (None when missing), numbers as float64."""
    out = {}
    for name in frame.columns:
        s = frame[name]
        if name in categorical_columns:
            out[name] = as_text(s)
        else:
            out[name] = s.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.DataFrame(out, index=frame.index)


def restore_features(frame: pd.DataFrame, feature_sets: Sequence[FeatureSet]) -> pd.DataFrame:
    """`as_rows` undone over the gathered rows of every bucket: each column in the sets'
    order with its declared dtype, categoricals coded again."""
    out: dict[str, Any] = {}
    for spec in (spec for fs in feature_sets for spec in fs.features):
        s = frame[spec.name]
        if spec.kind == "categorical":
            out[spec.name] = recoded(spec.name, as_text(s))
        else:
            out[spec.name] = s.to_numpy(dtype=np.float64).astype(spec.dtype)
    return pd.DataFrame(out, index=frame.index)
