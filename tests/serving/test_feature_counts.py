"""Served feature counts: running totals per worker, flushed whole, summed by the monitor,
on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from models.drift import FeatureProfile, feature_profile
from serving.feature_counts import FEATURE_COUNTS, FeatureCounter, read_counts
from serving.monitor.sources import summed_counts
from serving.security import hash_key
from serving.store import Store
from tests.conftest import backend_env, fresh_postgres_database
from tests.serving.conftest import (
    API_KEY,
    HEADERS,
    ROOT,
    Api,
    free_port,
    lead_payload,
    ready,
)

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


# End to end: `handoff serve --workers 2` (real uvicorn worker processes) scoring with the
# session's champion, stopped and started again on the same serving database.


def _serve(api: Api, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")},
        **backend_env(api.registry.settings),
        "HANDOFF_DATABASE_URL": database_url,
        "HANDOFF_API_KEY_HASHES": hash_key(API_KEY),
        "HANDOFF_RELOAD_INTERVAL_SECONDS": "0.5",
        # Nothing flushes on its own during the test: what lands is the shutdown's flush.
        "HANDOFF_FEATURE_COUNTS_FLUSH_SECONDS": "3600",
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "handoff_cli", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    proc.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    deadline = time.monotonic() + 180
    while not ready(proc.url):  # type: ignore[attr-defined]
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"handoff serve did not start:\n{log.read_text()}")
        time.sleep(0.2)
    return proc


def _score_leads(url: str, prefix: str, singles: int, batch: int) -> None:
    with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as client:
        for i in range(singles):
            answer = client.post("/v1/score", json=lead_payload(f"{prefix}-{i}", n_events=i % 4))
            assert answer.status_code == 200, answer.text
        items = [lead_payload(f"{prefix}-b{i}", n_events=i % 5) for i in range(batch)]
        answer = client.post("/v1/score/batch", json={"items": items})
        assert answer.status_code == 200 and answer.json()["n_ok"] == batch


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)  # graceful: each worker flushes at shutdown
    proc.wait(timeout=120)


def _leads_per_feature(url: str, version: str) -> dict[str, int]:
    summed = summed_counts(url)
    summed = summed[summed["model_version"] == version]
    return {str(f): int(n) for f, n in summed.groupby("feature")["n"].sum().items()}


@pytest.mark.slow
def test_served_counts_survive_a_restart_and_two_workers_count_each_lead_once(
    api: Api, tmp_path: Path
) -> None:
    from serving.monitor.run import run_monitor

    url = f"sqlite:///{tmp_path / 'serving.sqlite'}"
    log = tmp_path / "serve.log"
    v1 = api.registry.v1
    server = _serve(api, url, log)
    try:
        _score_leads(server.url, "first", singles=24, batch=16)  # type: ignore[attr-defined]
    finally:
        _stop(server)
    first = _leads_per_feature(url, v1)
    workers = {r["worker"] for r in read_counts(url)}
    assert set(first.values()) == {40}, first  # every feature: each lead exactly once
    assert 1 <= len(workers) <= 2

    server = _serve(api, url, log)
    try:
        _score_leads(server.url, "again", singles=6, batch=4)  # type: ignore[attr-defined]
    finally:
        _stop(server)
    again = _leads_per_feature(url, v1)
    assert set(again.values()) == {50}, again
    assert workers < {r["worker"] for r in read_counts(url)}  # new processes, new keys

    # The monitor reads the counts against the champion's own run: every model input.
    settings = api.registry.settings.model_copy(update={"database_url": url})
    fd = next(v for v in run_monitor(settings)["versions"] if v["version"] == v1)
    assert fd["feature_drift"]["measured"], fd["feature_drift"]
    assert {r["feature"] for r in fd["feature_drift"]["overall"]} == set(again)
