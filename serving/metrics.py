"""Prometheus text exposition, written by hand (prometheus_client is not a dependency).

Labels are drawn from closed sets (known paths, quadrants, status codes) so a caller cannot
blow up cardinality by requesting random URLs.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from data_contracts.vocab import QUADRANTS

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
    {"/v1/score", "/v1/score/batch", "/v1/model", "/healthz", "/readyz", "/metrics"}
)


def path_label(path: str) -> str:
    return path if path in KNOWN_PATHS else "other"


class Metrics:
    """Counters and a latency histogram, guarded by one lock (updates are tiny)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.bucket_counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.latency_count: dict[str, int] = defaultdict(int)
        self.errors: dict[str, int] = defaultdict(int)
        self.scores: dict[str, int] = defaultdict(int)
        self.batch_items_failed = 0

    def observe_request(self, method: str, path: str, status: int, seconds: float) -> None:
        label = path_label(path)
        with self._lock:
            self.requests[(method, label, status)] += 1
            counts = self.bucket_counts[label]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            self.latency_sum[label] += seconds
            self.latency_count[label] += 1
            if status >= 500:
                self.errors["server"] += 1
            elif status >= 400:
                self.errors["client"] += 1

    def observe_scores(self, quadrants: list[str], failed_items: int = 0) -> None:
        with self._lock:
            for q in quadrants:
                self.scores[q] += 1
            self.batch_items_failed += failed_items

    def render(self, *, model_version: str | None, score_log_rows: int) -> str:
        """The text format Prometheus scrapes."""
        lines: list[str] = []
        with self._lock:
            lines += [
                "# HELP handoff_http_requests_total HTTP requests by method, path and status.",
                "# TYPE handoff_http_requests_total counter",
            ]
            for (method, path, status), n in sorted(self.requests.items()):
                lines.append(
                    f'handoff_http_requests_total{{method="{method}",path="{path}",status="{status}"}} {n}'
                )
            lines += [
                "# HELP handoff_http_request_duration_seconds Request latency.",
                "# TYPE handoff_http_request_duration_seconds histogram",
            ]
            for path in sorted(self.bucket_counts):
                counts = self.bucket_counts[path]
                for bound, n in zip(BUCKETS, counts, strict=True):
                    lines.append(
                        f'handoff_http_request_duration_seconds_bucket{{path="{path}",le="{bound}"}} {n}'
                    )
                total = self.latency_count[path]
                lines.append(
                    f'handoff_http_request_duration_seconds_bucket{{path="{path}",le="+Inf"}} {total}'
                )
                lines.append(
                    f'handoff_http_request_duration_seconds_sum{{path="{path}"}} {self.latency_sum[path]:.6f}'
                )
                lines.append(
                    f'handoff_http_request_duration_seconds_count{{path="{path}"}} {total}'
                )
            lines += [
                "# HELP handoff_http_errors_total Error responses (client = 4xx, server = 5xx).",
                "# TYPE handoff_http_errors_total counter",
            ]
            for kind in ("client", "server"):
                lines.append(f'handoff_http_errors_total{{kind="{kind}"}} {self.errors[kind]}')
            lines += [
                "# HELP handoff_scores_total Leads scored, by quadrant.",
                "# TYPE handoff_scores_total counter",
            ]
            for quadrant in QUADRANTS:
                lines.append(
                    f'handoff_scores_total{{quadrant="{quadrant}"}} {self.scores[quadrant]}'
                )
            lines += [
                "# HELP handoff_batch_items_failed_total Batch items rejected by validation.",
                "# TYPE handoff_batch_items_failed_total counter",
                f"handoff_batch_items_failed_total {self.batch_items_failed}",
            ]
        lines += [
            "# HELP handoff_model_loaded 1 when a signed-off champion is serving.",
            "# TYPE handoff_model_loaded gauge",
            f"handoff_model_loaded {1 if model_version else 0}",
            "# HELP handoff_model_info The serving model version.",
            "# TYPE handoff_model_info gauge",
        ]
        if model_version:
            lines.append(f'handoff_model_info{{version="{model_version}"}} 1')
        lines += [
            "# HELP handoff_score_log_rows_written_total Rows committed to the score log.",
            "# TYPE handoff_score_log_rows_written_total counter",
            f"handoff_score_log_rows_written_total {score_log_rows}",
        ]
        return "\n".join(lines) + "\n"
