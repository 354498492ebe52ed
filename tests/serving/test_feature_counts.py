"""Served feature counts: running totals per worker, flushed whole, summed by the monitor,
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.drift import FeatureProfile, feature_profile
from serving.feature_counts import FEATURE_COUNTS, FeatureCounter, read_counts
from serving.monitor.sources import summed_counts
from serving.store import Store
from tests.conftest import fresh_postgres_database

DAY = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'serving.sqlite'}"
    return fresh_postgres_database("feature_counts_test")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url, [FEATURE_COUNTS])
    opened.start()
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def profile() -> FeatureProfile:
    rng = np.random.default_rng(0)
    return feature_profile(
        pd.DataFrame(
            {
                "log_employees": rng.normal(2, 0.5, 2_000),
                "industry": pd.Categorical(rng.choice(["software", "retail"], 2_000)),
            }
        )
    )


def _features(n: int, seed: int) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    return {
        "log_employees": rng.normal(2, 0.5, n),
        "industry": pd.Categorical(rng.choice(["software", "retail", "mining"], n)),
    }


def _counter(store: Store, **kw: object) -> FeatureCounter:
    options: dict = {"flush_seconds": 60.0, "flush_leads": 1_000_000, "timeout_seconds": 5.0}
    return FeatureCounter(store, **{**options, **kw})


def _totals(url: str) -> dict[tuple[str, str, str], int]:
    """Leads per (version, day, feature), every worker summed, as the monitor reads them."""
    summed = summed_counts(url)
    return {
        (str(v), str(d), str(f)): int(n)
        for (v, d, f), n in summed.groupby(["model_version", "day", "feature"])["n"].sum().items()
    }


def test_flushed_totals_are_running_totals_and_a_repeated_flush_adds_nothing(
    store: Store, database_url: str, profile: FeatureProfile
) -> None:
    counter = _counter(store)
    counter.add("3", profile, _features(40, 1), 40, DAY)
    assert counter.flush()
    counter.add("3", profile, _features(25, 2), 25, DAY)
    assert counter.flush()
    assert counter.flush()  # nothing new: nothing written
    # A retried commit whose first attempt landed writes the same totals again.
    rows = [tuple(r[c] for c in FEATURE_COUNTS.column_names) for r in read_counts(database_url)]
    store.write_blocking(FEATURE_COUNTS, rows, 5.0)
    day = DAY.date().isoformat()
    assert _totals(database_url) == {("3", day, "log_employees"): 65, ("3", day, "industry"): 65}
    expected = profile.features["industry"].count(
        np.concatenate([_features(40, 1)["industry"], _features(25, 2)["industry"]])
    )
    got = summed_counts(database_url).query("feature == 'industry'")
    assert dict(zip(got["bin_index"], got["n"], strict=True)) == {
        b: n for b, n in enumerate(expected.tolist()) if n
    }


def test_two_workers_are_summed_never_overwrite_each_other(
    store: Store, database_url: str, profile: FeatureProfile
) -> None:
    first, second = _counter(store), _counter(store)
    first.add("3", profile, _features(30, 1), 30, DAY)
    second.add("3", profile, _features(12, 2), 12, DAY)
    second.add("3", profile, _features(5, 3), 5, DAY + timedelta(days=1))
    first.stop()  # shutdown flushes what is left
    second.stop()
    assert {r["worker"] for r in read_counts(database_url)} == {first.worker, second.worker}
    day, next_day = DAY.date().isoformat(), (DAY + timedelta(days=1)).date().isoformat()
    assert _totals(database_url)[("3", day, "log_employees")] == 42
    assert _totals(database_url)[("3", next_day, "log_employees")] == 5


def test_counts_after_the_lead_threshold_are_flushed_by_the_thread(
    store: Store, database_url: str, profile: FeatureProfile
) -> None:
    counter = _counter(store, flush_leads=10)
    counter.start()
    try:
        counter.add("3", profile, _features(10, 1), 10, DAY)
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while not read_counts(database_url) and datetime.now(UTC) < deadline:
            pass
    finally:
        counter.stop()
    assert _totals(database_url)[("3", DAY.date().isoformat(), "industry")] == 10


def test_a_failed_flush_keeps_the_counts_for_the_next(
    tmp_path: Path, profile: FeatureProfile
) -> None:
    url = f"sqlite:///{tmp_path / 'serving.sqlite'}"
    store = Store(url, [FEATURE_COUNTS])  # not started: every write is refused
    counter = _counter(store)
    counter.add("3", profile, _features(7, 1), 7, DAY)
    assert not counter.flush()
    store.start()
    try:
        assert counter.flush()
    finally:
        store.close()
    assert _totals(url)[("3", DAY.date().isoformat(), "industry")] == 7


def test_a_version_without_a_profile_counts_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serving.sqlite'}"
    store = Store(url, [FEATURE_COUNTS])
    store.start()
    try:
        counter = _counter(store)
        counter.add("1", None, _features(7, 1), 7, DAY)
        counter.stop()
    finally:
        store.close()
    assert read_counts(url) == []


def test_old_days_are_let_go_once_written_and_later_days_keep_counting(
    store: Store, database_url: str, profile: FeatureProfile
) -> None:
    counter = _counter(store)
    counter.add("3", profile, _features(9, 1), 9, DAY)
    counter.add("3", profile, _features(4, 2), 4, DAY + timedelta(days=3))
    assert counter.flush()
    assert [day for _, day in counter._totals] == [(DAY + timedelta(days=3)).date().isoformat()]
    counter.add("3", profile, _features(6, 3), 6, DAY + timedelta(days=3))
    counter.stop()
    totals = _totals(database_url)
    assert totals[("3", DAY.date().isoformat(), "industry")] == 9
    assert totals[("3", (DAY + timedelta(days=3)).date().isoformat(), "industry")] == 10
