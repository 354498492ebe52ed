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
        # Serving's columns first: pandas' own isinstance checks cost microseconds a call.
        if (
            type(values) is not pd.Categorical
            and isinstance(values, pd.Series)
            and isinstance(values.dtype, pd.CategoricalDtype)
        ):
            values = values.array  # a training column: its codes, as serving's arrays
        if isinstance(values, pd.Categorical):
            return self._category_table(values.dtype)[np.asarray(values.codes, dtype=np.int64)]
        unknown = len(self.categories)
        labels = category_labels(values)
        return np.fromiter((self._lookup.get(x, unknown) for x in labels), np.int64, len(labels))

    @cached_property
    def _tables(self) -> dict[int, tuple[pd.CategoricalDtype, IntArray]]:
        return {}

    def _category_table(self, dtype: pd.CategoricalDtype) -> IntArray:
        """The bin of each of `dtype`'s codes, and last the bin of code -1 (missing).

        Kept per dtype object (the feature code builds its categoricals on shared dtypes), so
        a request pays one lookup, not one per category; the dtype is held, so its id is not
        reused while cached."""
        hit = self._tables.get(id(dtype))
        if hit is not None and hit[0] is dtype:
            return hit[1]
        unknown = len(self.categories)
        per_category = [self._lookup.get(str(c), unknown) for c in dtype.categories]
        table = np.asarray([*per_category, self._lookup.get(MISSING_LABEL, unknown)], np.int64)
        if len(self._tables) >= 64:  # open vocabularies: keep it bounded
            self._tables.clear()
        self._tables[id(dtype)] = (dtype, table)
        return table

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

    @cached_property
    def _offsets(self) -> dict[str, int]:
        """Where each feature's bins start in the flat histogram (`flat_counts`)."""
        starts = np.cumsum([0, *(b.n_bins for b in self.features.values())])
        return {name: int(start) for name, start in zip(self.features, starts, strict=False)}

    @property
    def n_flat(self) -> int:
        return sum(b.n_bins for b in self.features.values())

    @cached_property
    def _numeric_table(self) -> tuple[list[str], FloatArray, IntArray, IntArray]:
        """The numeric features' edges as one padded matrix (+inf never counts as <= v)."""
        names = [n for n, b in self.features.items() if b.kind == "numeric"]
        width = max((len(self.features[n].edges) for n in names), default=0)
        edges = np.full((len(names), width), np.inf)
        for row, name in enumerate(names):
            edges[row, : len(self.features[name].edges)] = self.features[name].edges
        missing = np.asarray([self.features[n].n_bins - 1 for n in names], dtype=np.int64)
        offsets = np.asarray([self._offsets[n] for n in names], dtype=np.int64)
        return names, edges, missing, offsets

    @cached_property
    def _categorical(self) -> list[tuple[str, FeatureBins]]:
        return [(n, b) for n, b in self.features.items() if b.kind == "categorical"]

    def flat_counts(self, columns: Mapping[str, Any]) -> IntArray:
        """Every feature's counts in one flat histogram (`split` cuts it per feature)."""
        return np.bincount(self.flat_index(columns), minlength=self.n_flat).astype(np.int64)

    def flat_index(self, columns: Mapping[str, Any]) -> IntArray:
        """Each value's bin in the flat histogram, every feature of every lead: what serving
        adds up (`np.add.at`). The numeric features are binned together, one comparison
        against the padded edges rather than one `searchsorted` each, since per-call overhead
        is most of the cost for one lead; the bins are `count`'s (a value's bin is the number
        of edges at or below it)."""
        names, edges, missing, offsets = self._numeric_table
        parts: list[IntArray] = []
        v = _stacked(columns, names)
        if v is not None:  # features x leads
            below = (v[:, :, None] >= edges[:, None, :]).sum(axis=2)
            binned = np.where(np.isfinite(v), below, missing[:, None]) + offsets[:, None]
            parts.append(binned.ravel())
        for name, bins in self._categorical if v is not None else self.features.items():
            if name in columns:  # the categorical ones (every one, if not stacked)
                parts.append(bins.index(columns[name]) + self._offsets[name])
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def split(self, flat: IntArray) -> dict[str, IntArray]:
        """A flat histogram per feature."""
        return {
            name: flat[self._offsets[name] : self._offsets[name] + bins.n_bins]
            for name, bins in self.features.items()
        }

    def to_json(self) -> str:
        return json.dumps(
            {"format": PROFILE_FORMAT, "features": [b.to_dict() for b in self.features.values()]}
        )

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FeatureProfile:
        bins = [FeatureBins.from_dict(b) for b in raw.get("features", [])]
        return cls({b.feature: b for b in bins})


def _stacked(columns: Mapping[str, Any], names: list[str]) -> FloatArray | None:
    """The named columns as rows of one float matrix (None: one is absent, not numbers, or
    of another length)."""
    if not names:
        return None
    try:
        stacked = np.array([columns[n] for n in names], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        return None
    return stacked if stacked.ndim == 2 else None


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
