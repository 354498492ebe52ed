"""Monitor summaries in the serving database: `handoff monitor` writes, the endpoint reads.

Computing a summary reads the whole score log and the champion's run: it runs in its own
process (`handoff monitor`, e.g. from cron), never inside a serving worker, so scoring is
never blocked by it; every worker and host then answers `GET /v1/monitor/summary` with the
same latest row.
"""

from __future__ import annotations

import json
from typing import Any

from serving.store import Store, Table, read_latest

MONITOR_SUMMARIES = Table(
    name="monitor_summaries",
    columns=(("computed_at", "text"), ("summary", "text")),
    key=("computed_at",),
)


def save_summary(store: Store, summary: dict[str, Any], timeout: float = 30.0) -> None:
    """Commit the summary (a started `store` with the table)."""
    row = (str(summary["computed_at"]), json.dumps(summary, allow_nan=False))
    store.write_blocking(MONITOR_SUMMARIES, [row], timeout)


def latest_summary(url: str) -> dict[str, Any] | None:
    row = read_latest(url, MONITOR_SUMMARIES)
    return None if row is None else dict(json.loads(row["summary"]))
