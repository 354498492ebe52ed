"""The serving database: one connection per process, one writer, one commit rule.

Tables that serving appends to (the score log today, the feedback store next) are declared
as `Table`s and written through one `Store`, which owns the choice of database by URL
(`sqlite:///PATH`, the embedded default, or `postgresql://...` for several hosts), the
connection and the rule every caller relies on:

**A row is committed before `write` returns.** Concurrent writers (requests, threads) put
their rows in line and whoever commits takes everything waiting in one transaction (group
commit), waking each caller only then, so an answer that depends on its rows is sent after
they are in the database. Callers on the event loop (`write`) hand their rows to a writer
thread; callers in a thread (`write_blocking`: the routes in FastAPI's thread pool) commit
themselves when the connection is free, taking along every row that waits: a request
alone pays no hand-over between threads, each of which can cost the interpreter's 5 ms
switch interval while another thread holds the GIL. A commit that fails three times fails every caller
waiting on it (`StoreUnavailable`): the caller refuses the request rather than answer
something that was never recorded.

What "committed" survives: on PostgreSQL (default `synchronous_commit=on`) a crash of the
process or the host. On SQLite (WAL) with the default `synchronous=NORMAL`, a crash or
`kill -9` of any serving process (the commit is in the WAL file when COMMIT returns);
surviving the host's power loss as well takes `?synchronous=full` on the URL, one fsync
per group commit. Several processes may write one SQLite file at once (WAL, busy timeout);
several hosts need PostgreSQL.

Each table has a natural key and rows go in with "on conflict do nothing", so a retried
commit whose first attempt did land adds nothing twice; a table of running totals
(`Table.replace`) overwrites a key's total with the new, larger one, which a retry repeats
harmlessly.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit, urlunsplit

logger = logging.getLogger("handoff.serving")

ColumnKind = Literal["text", "int", "float"]
Row = tuple[Any, ...]

_SQL_TYPES: dict[str, dict[ColumnKind, str]] = {
    "sqlite": {"text": "TEXT", "int": "INTEGER", "float": "REAL"},
    "postgresql": {"text": "TEXT", "int": "BIGINT", "float": "DOUBLE PRECISION"},
}
_ID_COLUMN = {
    "sqlite": "id INTEGER PRIMARY KEY AUTOINCREMENT",
    "postgresql": "id BIGSERIAL PRIMARY KEY",
}
_PLACEHOLDER = {"sqlite": "?", "postgresql": "%s"}
_ATTEMPTS = 3
_SQLITE_SYNC = ("normal", "full")


class StoreError(RuntimeError):
    """The serving database cannot be used as configured (a bad URL, unreachable)."""


class StoreUnavailable(RuntimeError):
    """Rows could not be committed: the caller must not act as if they were."""


@dataclass(frozen=True)
class Table:
    """An append-only table: typed columns, a natural key (retries add nothing twice) and
    the indexes its readers need."""

    name: str
    columns: tuple[tuple[str, ColumnKind], ...]
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    nullable: tuple[str, ...] = ()  # columns that may hold NULL (all others are NOT NULL)
    # Columns a row with an existing key overwrites (otherwise the row adds nothing). For
    # running totals that only grow, written whole each time: a retried commit writes the
    # same total again, never adds it twice.
    replace: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def ddl(self, dialect: str) -> list[str]:
        types = _SQL_TYPES[dialect]
        cols = ", ".join(
            f"{name} {types[kind]}{'' if name in self.nullable else ' NOT NULL'}"
            for name, kind in self.columns
        )
        statements = [
            f"CREATE TABLE IF NOT EXISTS {self.name} ({_ID_COLUMN[dialect]}, {cols})",
            f"CREATE UNIQUE INDEX IF NOT EXISTS {self.name}_key ON {self.name} "
            f"({', '.join(self.key)})",
        ]
        for index in self.indexes:
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {self.name}_{'_'.join(index)} ON {self.name} "
                f"({', '.join(index)})"
            )
        return statements

    def insert(self, dialect: str) -> str:
        mark = _PLACEHOLDER[dialect]
        if self.replace:
            sets = ", ".join(f"{c} = excluded.{c}" for c in self.replace)
            conflict = f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {sets}"
        else:
            conflict = "ON CONFLICT DO NOTHING"
        return (
            f"INSERT INTO {self.name} ({', '.join(self.column_names)}) "
            f"VALUES ({', '.join([mark] * len(self.columns))}) {conflict}"
        )


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed serving-database URL; `shown` is safe to print (no password)."""

    dialect: Literal["sqlite", "postgresql"]
    target: str  # the SQLite file, or the libpq connection URL
    shown: str
    sqlite_synchronous: str = "normal"


def parse_url(url: str) -> DatabaseUrl:
    """`sqlite:///relative.db`, `sqlite:////absolute.db` (optionally `?synchronous=full`),
    or `postgresql://user:password@host:port/db` (`postgresql+psycopg://` too, as MLflow
    writes it)."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        if parts.netloc or not parts.path.startswith("/") or len(parts.path) < 2:
            raise StoreError("a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path")
        query = {k.lower(): v[-1].lower() for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"synchronous"}
        if unknown:
            raise StoreError(f"unknown SQLite URL option(s): {', '.join(sorted(unknown))}")
        sync = query.get("synchronous", "normal")
        if sync not in _SQLITE_SYNC:
            raise StoreError(f"synchronous= takes {' or '.join(_SQLITE_SYNC)}")
        path = parts.path[1:]
        return DatabaseUrl("sqlite", path, f"sqlite:///{path}", sync)
    if scheme in ("postgresql", "postgres"):
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
        shown = urlunsplit(("postgresql", f"{user}{host}{port}", parts.path, "", ""))
        target = urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))
        return DatabaseUrl("postgresql", target, shown)
    raise StoreError("the serving database URL must start sqlite:/// or postgresql://")


class _Connection:
    """One DB-API connection and the dialect's ways of opening and committing it."""

    def __init__(self, url: DatabaseUrl) -> None:
        self.url = url
        self.raw: Any = None

    @property
    def dialect(self) -> str:
        return self.url.dialect

    def open(self) -> None:
        if self.dialect == "sqlite":
            path = Path(self.url.target)
            path.parent.mkdir(parents=True, exist_ok=True)
            lite = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            lite.execute("PRAGMA journal_mode=WAL")
            lite.execute(f"PRAGMA synchronous={self.url.sqlite_synchronous.upper()}")
            lite.execute("PRAGMA busy_timeout=5000")
            self.raw = lite
        else:
            import psycopg

            self.raw = psycopg.connect(self.url.target, connect_timeout=10)

    def close(self) -> None:
        if self.raw is not None:
            try:
                self.raw.close()
            finally:
                self.raw = None

    def run(self, statements: Iterable[tuple[str, Sequence[Row] | None]]) -> None:
        """Each (sql, rows) in one transaction: rows -> executemany, None -> execute."""
        if self.raw is None:
            self.open()
        conn = self.raw
        if self.dialect == "sqlite":
            try:
                conn.execute("BEGIN IMMEDIATE")
                for sql, rows in statements:
                    conn.executemany(sql, rows) if rows is not None else conn.execute(sql)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return
        try:
            with conn.cursor() as cur:
                for sql, rows in statements:
                    cur.executemany(sql, rows) if rows is not None else cur.execute(sql)
            conn.commit()
        except BaseException:
            self.close()  # a broken PostgreSQL connection is reopened on the next attempt
            raise

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[Row]]:
        if self.raw is None:
            self.open()
        cur = self.raw.cursor()
        try:
            cur.execute(sql, tuple(params))
            names = [d[0] for d in cur.description]
            return names, [tuple(r) for r in cur.fetchall()]
        finally:
            cur.close()
            if self.dialect == "postgresql":
                self.raw.rollback()


Migration = Callable[[Any, str], None]


@dataclass
class _Pending:
    table: Table
    rows: Sequence[Row]
    done: Future[None]


_STOP = object()


class Store:
    """The serving database of one process: `write` commits rows (grouped across callers)
    before it returns; see the module docstring for what that guarantees."""

    def __init__(
        self,
        url: str,
        tables: Sequence[Table],
        *,
        migrations: Sequence[Migration] = (),
        on_commit: Callable[[Table, int], None] | None = None,
        max_group_rows: int = 50_000,
    ) -> None:
        self.url = parse_url(url)
        self.url_text = url  # for readers that open their own connection (`read_keyed`)
        self.tables = tuple(tables)
        self.migrations = tuple(migrations)
        self.on_commit = on_commit
        self.max_group_rows = max_group_rows
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._waiting: list[_Pending] = []  # `write_blocking` rows not yet taken by a commit
        self._waiting_lock = threading.Lock()
        self._commit_lock = threading.Lock()  # one transaction at a time on the connection
        self._thread: threading.Thread | None = None
        self._conn = _Connection(self.url)

    @property
    def dialect(self) -> str:
        return self.url.dialect

    def start(self) -> None:
        """Connect and create the tables now (fail at start-up, not on the first write)."""
        try:
            self._conn.run((sql, None) for table in self.tables for sql in table.ddl(self.dialect))
            for migrate in self.migrations:
                migrate(self._conn.raw, self.dialect)
        except Exception as exc:
            self._conn.close()
            raise StoreError(
                f"serving database {self.url.shown} cannot be used: {type(exc).__name__}: {exc}"
            ) from None
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    def submit(self, table: Table, rows: Sequence[Row]) -> Future[None]:
        """Queue rows; the future completes once they are committed (or fails)."""
        done: Future[None] = Future()
        if not rows:
            done.set_result(None)
        elif self._thread is None:
            done.set_exception(StoreUnavailable("the serving database is not open"))
        else:
            self._queue.put(_Pending(table, rows, done))
        return done

    async def write(self, table: Table, rows: Sequence[Row], timeout: float) -> None:
        """Return once `rows` are committed; `StoreUnavailable` if they were not in time."""
        done = self.submit(table, rows)
        try:
            async with asyncio.timeout(timeout):
                await asyncio.wrap_future(done)
        except TimeoutError:
            raise StoreUnavailable(f"no commit within {timeout:g}s") from None

    def write_blocking(self, table: Table, rows: Sequence[Row], timeout: float) -> None:
        """`write` for code running in a thread: the caller commits its rows (and every row
        waiting beside them) itself once the connection is free.

        Rows leave `_waiting` only under the commit lock and are settled before it is
        released, so a caller that gets the lock finds its rows either still waiting (it
        commits them) or already committed by the caller before it.
        """
        if not rows:
            return
        if self._thread is None:
            raise StoreUnavailable("the serving database is not open")
        pending = _Pending(table, rows, Future())
        with self._waiting_lock:
            self._waiting.append(pending)
        if not self._commit_lock.acquire(timeout=timeout):
            raise StoreUnavailable(f"no commit within {timeout:g}s")
        try:
            if not pending.done.done():
                with self._waiting_lock:
                    group, self._waiting = self._waiting, []
                self._commit_group(group)
        finally:
            self._commit_lock.release()
        pending.done.result(0)  # raises the commit's failure, if it failed

    def _run(self) -> None:
        stopping = False
        while not stopping:
            group: list[_Pending] = []
            item = self._queue.get()
            n_rows = 0
            while True:
                if item is _STOP:
                    stopping = True
                else:
                    group.append(item)
                    n_rows += len(item.rows)
                if n_rows >= self.max_group_rows:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if group:
                self._commit(group)
        with self._commit_lock:
            self._conn.close()

    def _commit(self, group: list[_Pending]) -> None:
        with self._commit_lock:
            self._commit_group(group)

    def _commit_group(self, group: list[_Pending]) -> None:
        by_table: dict[Table, list[Row]] = {}
        for pending in group:
            by_table.setdefault(pending.table, []).extend(pending.rows)
        error: BaseException | None = None
        for attempt in range(_ATTEMPTS):
            try:
                self._conn.run(
                    (table.insert(self.dialect), rows) for table, rows in by_table.items()
                )
                error = None
                break
            except Exception as exc:
                error = exc
                time.sleep(0.05 * (attempt + 1))
        if error is not None:
            # The type only: a driver's message can quote the rows (lead ids).
            logger.error(
                "serving database %s: %d rows not committed after %d attempts (%s)",
                self.url.shown,
                sum(len(p.rows) for p in group),
                _ATTEMPTS,
                type(error).__name__,
            )
            failure = StoreUnavailable(f"commit failed ({type(error).__name__})")
            for pending in group:
                _settle(pending.done, failure)
            return
        if self.on_commit is not None:
            for table, rows in by_table.items():
                self.on_commit(table, len(rows))
        for pending in group:
            _settle(pending.done, None)

    def close(self, timeout: float = 30.0) -> None:
        """Commit everything queued, then stop the writer (graceful shutdown)."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout=timeout)
        if self._thread.is_alive():
            logger.error("serving database writer did not finish within %.0fs", timeout)
        self._thread = None


def _settle(done: Future[None], error: BaseException | None) -> None:
    """Complete a caller's future; one whose caller gave up (timed out) is left as it is."""
    try:
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
    except InvalidStateError:
        pass


def read_table(url: str, table: Table) -> list[dict[str, Any]]:
    """Every row of `table`, oldest first (tests, audits, the benchmarks)."""
    conn = _Connection(parse_url(url))
    try:
        names, rows = conn.query(f"SELECT * FROM {table.name} ORDER BY id")
    finally:
        conn.close()
    return [dict(zip(names, row, strict=True)) for row in rows]


def read_keyed(url: str, table: Table, column: str, values: Sequence[Any]) -> list[dict[str, Any]]:
    """The committed rows of `table` whose `column` is one of `values`, on a connection of
    its own (a route asks after its write returned: which of its rows were already there)."""
    if column not in table.column_names:
        raise ValueError(f"{table.name} has no column {column}")
    if not values:
        return []
    parsed = parse_url(url)
    mark = _PLACEHOLDER[parsed.dialect]
    conn = _Connection(parsed)
    out: list[dict[str, Any]] = []
    try:
        for start in range(0, len(values), 500):  # SQLite's bound-parameter limit
            chunk = list(values[start : start + 500])
            names, rows = conn.query(
                f"SELECT * FROM {table.name} WHERE {column} IN "
                f"({', '.join([mark] * len(chunk))}) ORDER BY id",
                chunk,
            )
            out.extend(dict(zip(names, row, strict=True)) for row in rows)
    finally:
        conn.close()
    return out


def read_latest(url: str, table: Table) -> dict[str, Any] | None:
    """The newest row of `table`, or None when it is empty."""
    conn = _Connection(parse_url(url))
    try:
        names, rows = conn.query(f"SELECT * FROM {table.name} ORDER BY id DESC LIMIT 1")
    finally:
        conn.close()
    return dict(zip(names, rows[0], strict=True)) if rows else None
