"""Population stability index: how far a sample has moved from a reference sample.

Training's report compares a candidate with the champion's training profile and serving's
monitor compares what it served with the champion's test window; neither may import the
other, so the measure both read lives here.

The binning rule lives here too, once: `FeatureBins` holds one feature's bins cut from a
reference sample and that sample's count per bin. Training writes a `FeatureProfile` (every
model input's bins) with each run; each serving worker counts the leads it scores into
exactly those bins (`FeatureProfile.count`, vectorised, no per-lead values kept); the
monitor sums the counts and reads their PSI against the reference counts. `psi` itself is
the same rule on two samples, so the three cannot disagree on where a value falls.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BinKind = Literal["numeric", "categorical"]
PSI_EPSILON = 1e-4
# PSI readings: below MODERATE stable, below MAJOR moderate, above a major shift.
PSI_MODERATE = 0.1
PSI_MAJOR = 0.25
DEFAULT_BINS = 10  # numeric features: the reference's deciles
MISSING_LABEL = "<missing>"  # a missing categorical value, its own category
PROFILE_FORMAT = 1


def psi(expected: pd.Series, actual: pd.Series, bins: int = DEFAULT_BINS) -> float:
    """Population stability index of `actual` against the reference sample `expected`.

    Numeric columns use the reference's deciles as bin edges (missing values get their own
    bin); categorical ones use the categories the reference holds (a missing value is the
    category `MISSING_LABEL`; every category the reference lacks falls in one *unknown*
    bin). Proportions are floored at `PSI_EPSILON` so an empty bin gives a large, finite
    value. Rule of thumb: < 0.1 stable, 0.1–0.25 moderate, > 0.25 a major shift.
    """
    reference = bins_of(str(expected.name), expected, bins)
    return reference.psi(reference.count(actual))


def psi_of_counts(expected: npt.ArrayLike, actual: npt.ArrayLike) -> float:
    """PSI of two histograms over the same bins (NaN when either is empty)."""
    ref = np.asarray(expected, dtype=np.float64)
    cur = np.asarray(actual, dtype=np.float64)
    if ref.sum() == 0 or cur.sum() == 0:
        return float("nan")
    e = np.maximum(ref / ref.sum(), PSI_EPSILON)
    a = np.maximum(cur / cur.sum(), PSI_EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def is_numeric(values: pd.Series) -> bool:
    """Binned by deciles (numbers, 0/1 flags) rather than by category (text, booleans)."""
    return (
        pd.api.types.is_numeric_dtype(values)
        and not isinstance(values.dtype, pd.CategoricalDtype)
        and not pd.api.types.is_bool_dtype(values)
    )


def category_labels(values: Any) -> npt.NDArray[np.object_]:
    """Each value as the text its category is named by; missing as `MISSING_LABEL`."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    return s.astype("object").where(s.notna(), MISSING_LABEL).astype(str).to_numpy(dtype=object)


@dataclass(frozen=True)
class FeatureBins:
    """One feature's bins and the reference sample's count in each.

    numeric: `edges` are the reference's distinct inner deciles; bin i holds
    `edges[i-1] <= v < edges[i]` (open-ended at both ends), and the last bin holds the
    missing values. categorical: one bin per category in `categories`, then one *unknown*
    bin for every value the reference never held.
    """

    feature: str
    kind: BinKind
    reference: tuple[int, ...]
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def n_bins(self) -> int:
        return len(self.edges) + 2 if self.kind == "numeric" else len(self.categories) + 1

    @property
    def labels(self) -> list[str]:
        """What each bin holds, for people."""
        if self.kind == "categorical":
            return [*self.categories, "<unknown>"]
        e = [f"{x:.4g}" for x in self.edges]
        inner = [f"[{lo}, {hi})" for lo, hi in itertools.pairwise(e)]
        return [f"< {e[0]}", *inner, f">= {e[-1]}", MISSING_LABEL] if e else ["all", MISSING_LABEL]

    @cached_property
    def _lookup(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.categories)}

    @cached_property
    def _edges(self) -> FloatArray:
        return np.asarray(self.edges, dtype=np.float64)

    def index(self, values: Any) -> IntArray:
        """The bin of each value (an array, a Series, or a `pd.Categorical`)."""
        if self.kind == "numeric":
            try:
                v = np.asarray(values, dtype=np.float64)
            except (TypeError, ValueError):  # text where a number belongs: missing
                v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(np.float64)
            out = np.searchsorted(self._edges, v, side="right").astype(np.int64)
            out[~np.isfinite(v)] = self.n_bins - 1
            return out
        unknown = len(self.categories)
        if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
            values = values.array  # a training column: its codes, as serving's arrays
        if isinstance(values, pd.Categorical):
            # One lookup per category, then the codes: no text per value. -1 (missing) takes
            # the last entry, the missing category's bin.
            missing = self._lookup.get(MISSING_LABEL, unknown)
            per_category = [self._lookup.get(str(c), unknown) for c in values.categories]
            table = np.asarray([*per_category, missing], dtype=np.int64)
            return table[np.asarray(values.codes, dtype=np.int64)]
        labels = category_labels(values)
        return np.fromiter((self._lookup.get(x, unknown) for x in labels), np.int64, len(labels))

    def count(self, values: Any) -> IntArray:
        """How many of `values` fall in each bin."""
        return np.bincount(self.index(values), minlength=self.n_bins).astype(np.int64)

    def psi(self, counts: npt.ArrayLike) -> float:
        """PSI of a histogram over these bins against the reference's."""
        return psi_of_counts(self.reference, counts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "reference": list(self.reference),
            "edges": list(self.edges),
            "categories": list(self.categories),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FeatureBins:
        return cls(
            feature=str(raw["feature"]),
            kind="numeric" if raw["kind"] == "numeric" else "categorical",
            reference=tuple(int(n) for n in raw["reference"]),
            edges=tuple(float(x) for x in raw.get("edges", ())),
            categories=tuple(str(c) for c in raw.get("categories", ())),
        )


def bins_of(feature: str, reference: pd.Series, bins: int = DEFAULT_BINS) -> FeatureBins:
    """The bins of one feature cut from its reference sample, with that sample's counts."""
    if is_numeric(reference):
        ref = pd.to_numeric(reference, errors="coerce").to_numpy(dtype=np.float64)
        finite = ref[np.isfinite(ref)]
        inner = (
            np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
            if len(finite)
            else np.array([])
        )
        cut = FeatureBins(feature, "numeric", (), edges=tuple(float(x) for x in inner))
    else:
        seen = tuple(sorted(set(category_labels(reference))))
        cut = FeatureBins(feature, "categorical", (), categories=seen)
    counts = cut.count(reference)
    return FeatureBins(feature, cut.kind, tuple(int(n) for n in counts), cut.edges, cut.categories)


@dataclass(frozen=True)
class FeatureProfile:
    """Every model input's bins and reference counts: what a version's served features
    are compared against (training writes it, serving counts into it)."""

    features: dict[str, FeatureBins] = field(default_factory=dict)

    def count(self, columns: Mapping[str, Any]) -> dict[str, IntArray]:
        """Per feature in both the profile and `columns`, the count of each bin."""
        return {
            name: bins.count(columns[name])
            for name, bins in self.features.items()
            if name in columns
        }

    def to_json(self) -> str:
        return json.dumps(
            {"format": PROFILE_FORMAT, "features": [b.to_dict() for b in self.features.values()]}
        )

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FeatureProfile:
        bins = [FeatureBins.from_dict(b) for b in raw.get("features", [])]
        return cls({b.feature: b for b in bins})


def feature_profile(
    frame: pd.DataFrame, columns: Sequence[str] | None = None, bins: int = DEFAULT_BINS
) -> FeatureProfile:
    """The profile of `columns` (default: all) of a reference frame, e.g. the training rows."""
    names = list(frame.columns if columns is None else columns)
    return FeatureProfile({name: bins_of(name, frame[name], bins) for name in names})


def psi_label(value: float) -> str:
    """The conventional reading of a PSI value."""
    if not np.isfinite(value):
        return "n/a"
    if value < PSI_MODERATE:
        return "stable"
    if value < PSI_MAJOR:
        return "moderate"
    return "major"
