"""Prometheus metrics through `prometheus_client`, summed over every worker process.

With several workers (`handoff serve --workers N`) each process writes its values to files
in one shared directory (`prometheus_client` multiprocess mode, chosen by
`PROMETHEUS_MULTIPROC_DIR`, which `serving.app.run` sets before any worker starts), and
`/metrics` in any worker reads them all, so a scrape sees the whole server whichever worker
answers. A single in-process server keeps its own registry.

Labels are drawn from closed sets (known paths and methods, quadrants, status codes) so a
caller cannot blow up cardinality by requesting random URLs or inventing methods.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from data_contracts.vocab import QUADRANTS

CONTENT_TYPE = CONTENT_TYPE_LATEST
BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
KNOWN_PATHS: frozenset[str] = frozenset(
    {
        "/v1/score",
        "/v1/score/batch",
        "/v1/accounts/score",
        "/v1/model",
        "/v1/feedback",
        "/v1/monitor/summary",
        "/healthz",
        "/readyz",
        "/metrics",
    }
)
KNOWN_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def path_label(path: str) -> str:
    return path if path in KNOWN_PATHS else "other"


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "other"


class Metrics:
    """The service's counters, latency histogram and model gauges.

    `shared_dir` is the multiprocess directory of a multi-worker server (None: this process
    only); this process must have been started with `PROMETHEUS_MULTIPROC_DIR` naming it,
    since `prometheus_client` chooses where values live when it is imported.
    """

    def __init__(self, shared_dir: Path | None = None) -> None:
        if shared_dir is not None and os.environ.get(MULTIPROCESS_ENV) != str(shared_dir):
            raise RuntimeError(f"{MULTIPROCESS_ENV} must name {shared_dir} before start-up")
        disable_created_metrics()
        self.shared_dir = shared_dir
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "handoff_http_requests",
            "HTTP requests by method, path and status.",
            ["method", "path", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "handoff_http_request_duration_seconds",
            "Request latency in the app (from the first byte of the body read).",
            ["path"],
            buckets=BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "handoff_http_errors",
            "Error responses (client = 4xx, server = 5xx).",
            ["kind"],
            registry=r,
        )
        self.scores = Counter(
            "handoff_scores", "Leads scored, by quadrant.", ["quadrant"], registry=r
        )
        self.batch_items_failed = Counter(
            "handoff_batch_items_failed", "Batch items rejected by validation.", registry=r
        )
        self.score_log_rows = Counter(
            "handoff_score_log_rows_written", "Rows committed to the score log.", registry=r
        )
        # livemin: 1 only while every live worker has a champion; livemax: each version some
        # worker serves (two during a swap).
        self.model_loaded = Gauge(
            "handoff_model_loaded",
            "1 when a signed-off champion is serving (in every worker).",
            registry=r,
            multiprocess_mode="livemin",
        )
        self.model_info = Gauge(
            "handoff_model_info",
            "The serving model version.",
            ["version"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self._errors = {kind: self.errors.labels(kind) for kind in ("client", "server")}
        self._scores = {q: self.scores.labels(q) for q in QUADRANTS}
        self._request_children: dict[tuple[str, str, int], Counter] = {}
        self._latency_children: dict[str, Histogram] = {}
        self._version: str | None = None
        self.model_loaded.set(0)

    def observe_request(self, method: str, path: str, status: int, seconds: float) -> None:
        label = path_label(path)
        key = (method_label(method), label, status)
        counter = self._request_children.get(key)
        if counter is None:
            counter = self._request_children.setdefault(key, self.requests.labels(*key))
        counter.inc()
        latency = self._latency_children.get(label)
        if latency is None:
            latency = self._latency_children.setdefault(label, self.latency.labels(label))
        latency.observe(seconds)
        if status >= 500:
            self._errors["server"].inc()
        elif status >= 400:
            self._errors["client"].inc()

    def observe_scores(self, quadrants: list[str], failed_items: int = 0) -> None:
        for q in quadrants:
            self._scores[q].inc()
        if failed_items:
            self.batch_items_failed.inc(failed_items)

    def observe_committed(self, rows: int) -> None:
        self.score_log_rows.inc(rows)

    def set_model(self, version: str | None) -> None:
        """The champion this process serves now (None: none)."""
        if self._version is not None and self._version != version:
            self.model_info.labels(self._version).set(0)
        if version is not None:
            self.model_info.labels(version).set(1)
        self.model_loaded.set(1 if version is not None else 0)
        self._version = version

    def render(self) -> bytes:
        """The text format Prometheus scrapes: every worker's values, summed."""
        if self.shared_dir is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=str(self.shared_dir))
        return generate_latest(merged)

    def process_exited(self) -> None:
        """Drop this process's live gauges (a graceful worker exit)."""
        if self.shared_dir is not None:
            multiprocess.mark_process_dead(os.getpid(), str(self.shared_dir))
