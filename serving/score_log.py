"""Every score served, appended to SQLite (WAL) by one background writer.

Requests only put rows on a queue; the writer drains it in batches inside one transaction
(`synchronous=NORMAL`: durable across a process crash, cheap per commit). `close()` drains
everything before returning, so a graceful shutdown loses nothing.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger("handoff.serving")

COLUMNS: tuple[str, ...] = (
    "request_id",
    "lead_id",
    "model_version",
    "fit_score",
    "interest_score",
    "combined_score",
    "fit_probability",
    "interest_probability",
    "combined_probability",
    "quadrant",
    "as_of",
    "scored_at",
)
SCHEMA = """
CREATE TABLE IF NOT EXISTS score_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    model_version TEXT NOT NULL,
    fit_score INTEGER NOT NULL,
    interest_score INTEGER NOT NULL,
    combined_score INTEGER NOT NULL,
    fit_probability REAL NOT NULL,
    interest_probability REAL NOT NULL,
    combined_probability REAL NOT NULL,
    quadrant TEXT NOT NULL,
    as_of TEXT NOT NULL,
    scored_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS score_log_lead ON score_log (lead_id);
"""
_INSERT = f"INSERT INTO score_log ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_STOP = object()


def rows_from_answers(answers: Iterable[dict[str, Any]], scored_at: str) -> list[tuple[Any, ...]]:
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


def connect(path: Path) -> sqlite3.Connection:
    """A WAL-mode connection with the table in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.executescript(SCHEMA)
    _rename_win_columns(conn)
    return conn


def _rename_win_columns(conn: sqlite3.Connection) -> None:
    """Logs written before the combined score had one name called it `win_*`."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(score_log)")}
    for old in ("win_score", "win_probability"):
        if old in present:
            new = old.replace("win_", "combined_")
            conn.execute(f"ALTER TABLE score_log RENAME COLUMN {old} TO {new}")


class ScoreLog:
    """Queue in front, one writer thread behind, batched inserts."""

    def __init__(self, path: Path, *, max_batch_rows: int = 50_000) -> None:
        self.path = Path(path)
        self.max_batch_rows = max_batch_rows
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.written = 0

    def start(self) -> None:
        conn = connect(self.path)  # fail at start-up, not on the first score
        self._thread = threading.Thread(
            target=self._run, args=(conn,), name="score-log-writer", daemon=True
        )
        self._thread.start()

    def append(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Non-blocking: hand rows to the writer."""
        if rows:
            self._queue.put(rows)

    def _run(self, conn: sqlite3.Connection) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            batch: list[tuple[Any, ...]] = []
            if item is _STOP:
                stopping = True
            else:
                batch.extend(item)
            while len(batch) < self.max_batch_rows:  # take what else is waiting
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stopping = True
                else:
                    batch.extend(more)
            if batch:
                self._write(conn, batch)
        conn.close()

    def _write(self, conn: sqlite3.Connection, batch: list[tuple[Any, ...]]) -> None:
        for attempt in range(3):
            try:
                conn.execute("BEGIN")
                conn.executemany(_INSERT, batch)
                conn.execute("COMMIT")
                self.written += len(batch)
                return
            except sqlite3.Error:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if attempt == 2:  # type only: the error text could quote a lead id
                    logger.error(
                        "score log: dropped %d rows after 3 attempts (%s)",
                        len(batch),
                        type(sys.exc_info()[1]).__name__,
                    )

    def close(self, timeout: float = 30.0) -> None:
        """Drain the queue and stop the writer (called on graceful shutdown)."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout=timeout)
        if self._thread.is_alive():
            logger.error("score log writer did not finish within %.0fs", timeout)
        self._thread = None


def read_rows(path: Path) -> list[dict[str, Any]]:
    """All rows, oldest first (for tests and audits)."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM score_log ORDER BY id")]
    finally:
        conn.close()
