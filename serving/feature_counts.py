"""How many served leads fell in each bin of the champion's feature profile, per worker.

Feature drift is measured without keeping any lead's features: the score log holds only the
decision. Each worker counts the features of every lead the champion scored into the bins
its training run wrote (`models.drift.FeatureProfile`, `FEATURE_PROFILE_FILE`), in memory,
and writes its running totals to `FEATURE_COUNTS` every `feature_counts_flush_seconds`,
after `feature_counts_flush_leads` leads, and at shutdown. The monitor sums them over
workers and reads their PSI against the profile (`serving.monitor.summary`).

A row is one worker's running total for (version, UTC day, feature, bin), keyed by a
worker id drawn when the process starts. A flush overwrites the worker's totals
(`Table.replace`), so a retried commit never counts twice; two workers, or one worker
before and after a restart, never share a key, so none overwrites another's counts. What a
`kill -9` loses is at most the counts since that worker's last flush; the decisions in the
score log are committed before each answer and are never lost.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from models.drift import FeatureProfile, IntArray
from serving.store import Row, Store, StoreUnavailable, Table, read_table

logger = logging.getLogger("handoff.serving")

FEATURE_COUNTS = Table(
    name="feature_counts",
    columns=(
        ("worker", "text"),
        ("model_version", "text"),
        ("day", "text"),  # UTC date the leads were scored, ISO
        ("feature", "text"),
        ("bin_index", "int"),
        ("n", "int"),
    ),
    key=("worker", "model_version", "day", "feature", "bin_index"),
    indexes=(("model_version", "day"),),
    replace=("n",),
)
# Totals of a day this long before the latest day counted are final (no request runs that
# long) and are let go once written, so a worker's memory holds a few days of counts, not
# its whole life. Measured from the days counted, not the wall clock: counts that arrive for
# a day let go would start again at zero and overwrite its written total.
_KEEP = timedelta(days=2)

Totals = tuple[FeatureProfile, IntArray]  # the version's profile and its flat counts


class FeatureCounter:
    """One worker's running feature counts and the thread that flushes them."""

    def __init__(
        self,
        store: Store,
        *,
        flush_seconds: float,
        flush_leads: int,
        timeout_seconds: float,
        worker: str | None = None,
    ) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self.flush_leads = flush_leads
        self.timeout_seconds = timeout_seconds
        self.worker = worker or uuid.uuid4().hex
        self._totals: dict[tuple[str, str], Totals] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._unflushed_leads = 0
        self._latest_day = date.min
        self._lock = threading.Lock()  # the totals
        self._flushing = threading.Lock()  # one flush at a time: totals land in order
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(
        self,
        version: str,
        profile: FeatureProfile | None,
        features: Mapping[str, Any],
        n_leads: int,
        scored_at: datetime,
    ) -> None:
        """Count one request's scored leads (a version without a profile counts nothing)."""
        if profile is None or n_leads == 0:
            return
        index = profile.flat_index(features)  # outside the lock: the per-lead work
        day = scored_at.astimezone(UTC).date()
        key = (version, day.isoformat())
        with self._lock:
            self._latest_day = max(self._latest_day, day)
            totals = self._totals.get(key)
            if totals is None:
                totals = self._totals[key] = (profile, np.zeros(profile.n_flat, np.int64))
            np.add.at(totals[1], index, 1)  # unbuffered: a bin repeated counts each time
            self._dirty.add(key)
            self._unflushed_leads += n_leads
            due = self._unflushed_leads >= self.flush_leads
        if due:
            self._wake.set()

    def _rows(self, keys: list[tuple[str, str]]) -> list[Row]:
        return [
            (self.worker, version, day, feature, int(b), int(counts[b]))
            for version, day in keys
            for feature, counts in self._split(self._totals[(version, day)]).items()
            for b in np.flatnonzero(counts)
        ]

    @staticmethod
    def _split(totals: Totals) -> dict[str, IntArray]:
        profile, flat = totals
        return profile.split(flat)

    def flush(self) -> bool:
        """Write the totals changed since the last flush; False (kept for the next) if the
        database did not take them."""
        with self._flushing:
            with self._lock:
                keys = sorted(self._dirty)
                rows = self._rows(keys)  # a consistent snapshot: ints, not the live arrays
                self._dirty = set()
                unflushed, self._unflushed_leads = self._unflushed_leads, 0
            try:
                self.store.write_blocking(FEATURE_COUNTS, rows, self.timeout_seconds)
            except StoreUnavailable as exc:
                with self._lock:
                    self._dirty.update(keys)
                    self._unflushed_leads += unflushed
                logger.warning("feature counts not written yet (%s); will retry", exc)
                return False
            self._let_go()
            return True

    def _let_go(self) -> None:
        with self._lock:
            for key in [k for k in self._totals if k not in self._dirty]:
                if date.fromisoformat(key[1]) < self._latest_day - _KEEP:
                    del self._totals[key]

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            if not self._stop.is_set():
                self.flush()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="feature-counts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write what is left (graceful shutdown; before the store
        closes)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_seconds + 5)
            self._thread = None
        self.flush()


def read_counts(url: str) -> list[dict[str, Any]]:
    """Every worker's rows (tests, audits); the monitor sums them (`summed_counts`)."""
    return read_table(url, FEATURE_COUNTS)
