"""Wall time and peak memory per pipeline phase, so every run reports where it spent both."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class PhaseClock:
    """Records (phase, seconds, peak RSS after it) in the order phases ran."""

    def __init__(self) -> None:
        self.records: list[dict[str, float | str]] = []

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.records.append(
                {
                    "phase": name,
                    "seconds": round(time.perf_counter() - start, 3),
                    "peak_rss_mb": round(peak_rss_mb(), 1),
                }
            )

    @property
    def total_seconds(self) -> float:
        return float(sum(float(r["seconds"]) for r in self.records))
