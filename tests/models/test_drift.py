"""One binning rule: the profile training writes, the counts serving keeps and `psi` agree."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.drift import (
    MISSING_LABEL,
    PSI_EPSILON,
    FeatureProfile,
    bins_of,
    feature_profile,
    psi,
)
from serving.monitor.summary import COUNT_COLUMNS, feature_drift


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, dict[str, object], pd.DataFrame]:
    """A reference frame with the dtypes training's feature frame has, and a shifted served
    sample both as serving holds it (numpy arrays, `pd.Categorical`) and as a frame."""
    rng = np.random.default_rng(0)
    n, m = 4_000, 900
    employees = rng.normal(2.0, 0.5, n)
    employees[rng.uniform(size=n) < 0.1] = np.nan
    ref = pd.DataFrame(
        {
            "log_employees": employees,
            "n_touches_30d": rng.poisson(3, n).astype(np.int32),
            "email_present": (rng.uniform(size=n) < 0.7).astype(np.int8),
            "industry": pd.Categorical(
                rng.choice(["software", "retail", None], size=n, p=[0.6, 0.3, 0.1]),
                categories=["software", "retail", "finance"],
            ),
        }
    )
    served_employees = rng.normal(2.6, 0.5, m)
    served_employees[:40] = np.nan
    served_employees[40] = np.inf  # not a number a bin can hold: counted as missing
    industry = rng.choice(["software", "retail", "mining"], size=m, p=[0.3, 0.5, 0.2])
    served: dict[str, object] = {
        "log_employees": served_employees,
        "n_touches_30d": rng.poisson(5, m).astype(np.int32),
        "email_present": (rng.uniform(size=m) < 0.4).astype(np.int8),
        # serving's categorical columns: categories in the feature code's order, one unseen
        "industry": pd.Categorical(industry, categories=["mining", "software", "retail"]),
    }
    as_frame = pd.DataFrame({k: pd.Series(v) for k, v in served.items()})
    as_frame["industry"] = as_frame["industry"].astype(object)
    return ref, served, as_frame


def test_served_counts_read_by_the_monitor_equal_psi_on_the_same_values(frames) -> None:
    ref, served, as_frame = frames
    profile = FeatureProfile.from_dict(json.loads(feature_profile(ref).to_json()))
    counts = profile.count(served)  # what a serving worker adds up
    rows = pd.DataFrame(
        [
            ("1", "2026-03-02", feature, b, int(n))
            for feature, per_bin in counts.items()
            for b, n in enumerate(per_bin)
            if n
        ],
        columns=list(COUNT_COLUMNS),
    )
    monitored = feature_drift(rows, profile, 0.25, "1")
    by_feature = {r["feature"]: r["psi"] for r in monitored["overall"]}
    assert set(by_feature) == set(ref.columns)
    for column in ref.columns:
        assert by_feature[column] == pytest.approx(psi(ref[column], as_frame[column]), abs=1e-12)
        assert by_feature[column] > 0.1  # every column was shifted


def test_numeric_psi_is_the_decile_histogram_with_a_missing_bin(frames) -> None:
    """The rule as the report always computed it: reference deciles, one missing bin."""
    ref, _, as_frame = frames
    expected, actual = ref["log_employees"].to_numpy(), as_frame["log_employees"].to_numpy()
    finite = expected[np.isfinite(expected)]
    inner = np.unique(np.quantile(finite, np.linspace(0, 1, 11)[1:-1]))
    edges = np.concatenate([[-np.inf], inner, [np.inf]])

    def hist(v: np.ndarray) -> np.ndarray:
        ok = np.isfinite(v)
        return np.append(np.histogram(v[ok], bins=edges)[0], (~ok).sum()).astype(float)

    e, a = hist(expected), hist(actual)
    e = np.maximum(e / e.sum(), PSI_EPSILON)
    a = np.maximum(a / a.sum(), PSI_EPSILON)
    assert psi(ref["log_employees"], as_frame["log_employees"]) == pytest.approx(
        float(np.sum((a - e) * np.log(a / e)))
    )


def test_value_on_an_edge_falls_in_the_bin_above_and_missing_in_the_last() -> None:
    bins = bins_of("x", pd.Series(np.arange(100, dtype=float)))
    first_edge = bins.edges[0]
    index = bins.index(np.array([first_edge - 1e-9, first_edge, np.nan, -np.inf, 1e9]))
    assert index.tolist() == [0, 1, bins.n_bins - 1, bins.n_bins - 1, bins.n_bins - 2]


def test_categories_missing_and_unknown_have_their_own_bins() -> None:
    bins = bins_of("industry", pd.Series(["retail", None, "software", "retail"]))
    assert bins.categories == tuple(sorted(["retail", "software", MISSING_LABEL]))
    as_array = bins.index(np.array(["software", None, "mining", "retail"], dtype=object))
    as_categorical = bins.index(
        pd.Categorical(
            ["software", None, "mining", "retail"], categories=["mining", "software", "retail"]
        )
    )
    unknown = len(bins.categories)
    missing = bins.categories.index(MISSING_LABEL)
    assert as_array.tolist() == as_categorical.tolist()
    assert as_array.tolist() == [
        bins.categories.index("software"),
        missing,
        unknown,
        bins.categories.index("retail"),
    ]
    assert bins.labels[-1] == "<unknown>"


def test_same_distribution_is_stable_and_profile_round_trips() -> None:
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"v": rng.normal(size=5_000), "f": rng.integers(0, 2, 5_000)})
    profile = feature_profile(ref)
    again = FeatureProfile.from_dict(json.loads(profile.to_json()))
    assert again == profile
    same = {"v": rng.normal(size=2_000), "f": rng.integers(0, 2, 2_000)}
    counts = again.count(same)
    assert all(again.features[k].psi(c) < 0.02 for k, c in counts.items())
    assert sum(counts["v"]) == 2_000


def test_flat_counts_bin_exactly_as_each_feature_alone(frames) -> None:
    """Serving's one-pass histogram (numeric features binned together) against `count`."""
    ref, served, _ = frames
    profile = feature_profile(ref)
    flat = profile.flat_counts(served)
    assert len(flat) == profile.n_flat
    split = profile.split(flat)
    for name, counts in profile.count(served).items():
        assert split[name].tolist() == counts.tolist(), name
    one = {k: v[:1] for k, v in served.items()}  # one lead, as /v1/score counts it
    assert profile.flat_counts(one).sum() == len(ref.columns)
    edges = profile.features["log_employees"].edges
    on_edges = {**one, "log_employees": np.array([edges[3]])}
    split_one = profile.split(profile.flat_counts(on_edges))
    assert (
        split_one["log_employees"].tolist()
        == profile.features["log_employees"].count(np.array([edges[3]])).tolist()
    )
