"""Every score served, committed to the serving database before its answer is sent.

Monitoring and retraining join outcomes against this table, so an answered score that is not
in it is lost data. The routes therefore wait for `record` (a group commit through
`serving.store.Store`) before they answer; when the commit fails they answer 503 instead of
a score nobody recorded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from serving.store import Row, Store, Table, read_table

SCORE_LOG = Table(
    name="score_log",
    columns=(
        ("request_id", "text"),
        ("lead_id", "text"),
        ("model_version", "text"),
        ("fit_score", "int"),
        ("interest_score", "int"),
        ("combined_score", "int"),
        ("fit_probability", "float"),
        ("interest_probability", "float"),
        ("combined_probability", "float"),
        ("quadrant", "text"),
        ("as_of", "text"),
        ("scored_at", "text"),
    ),
    # One row per lead per request: a batch refuses a repeated lead_id.
    key=("request_id", "lead_id"),
    indexes=(("lead_id",),),
)
COLUMNS: tuple[str, ...] = SCORE_LOG.column_names


def rows_from_answers(answers: Iterable[dict[str, Any]], scored_at: str) -> list[Row]:
    """Score-log rows from API answers (no reasons, no lead attributes: only the decision)."""
    return [
        (
            a["request_id"],
            a["lead_id"],
            a["model_version"],
            a["fit"]["score"],
            a["interest"]["score"],
            a["combined"]["score"],
            a["fit"]["probability"],
            a["interest"]["probability"],
            a["combined"]["probability"],
            a["quadrant"],
            a["as_of"],
            scored_at,
        )
        for a in answers
    ]


def rename_win_columns(conn: Any, dialect: str) -> None:
    """Logs written before the combined score had one name called it `win_*` (SQLite only:
    no PostgreSQL log predates the rename)."""
    if dialect != "sqlite":
        return
    assert isinstance(conn, sqlite3.Connection)
    present = {row[1] for row in conn.execute("PRAGMA table_info(score_log)")}
    for old in ("win_score", "win_probability"):
        if old in present:
            new = old.replace("win_", "combined_")
            conn.execute(f"ALTER TABLE score_log RENAME COLUMN {old} TO {new}")


class ScoreLog:
    """The score-log table of the app's `Store`: `record` returns once rows are committed."""

    def __init__(self, store: Store, *, timeout_seconds: float) -> None:
        if SCORE_LOG not in store.tables:
            raise ValueError("the store was opened without the score_log table")
        self.store = store
        self.timeout_seconds = timeout_seconds

    async def record(self, rows: Sequence[Row]) -> None:
        """Committed when this returns; `StoreUnavailable` otherwise (answer 503)."""
        await self.store.write(SCORE_LOG, rows, self.timeout_seconds)

    def record_blocking(self, rows: Sequence[Row]) -> None:
        """`record` for the routes, which run in FastAPI's thread pool."""
        self.store.write_blocking(SCORE_LOG, rows, self.timeout_seconds)


def read_rows(url: str) -> list[dict[str, Any]]:
    """All rows, oldest first (for tests and audits)."""
    return read_table(url, SCORE_LOG)
