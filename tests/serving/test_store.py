"""The serving database: rows are committed before `write` returns, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from serving.score_log import SCORE_LOG, rename_win_columns
from serving.store import Store, StoreError, StoreUnavailable, Table, parse_url, read_table
from tests.conftest import fresh_postgres_database

NOTES = Table(
    name="notes",
    columns=(("request_id", "text"), ("n", "int"), ("value", "float")),
    key=("request_id", "n"),
)
SECRET_VALUE = "Zebulon-Quartzfeather-lead"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'serving.sqlite'}"
    return fresh_postgres_database("store_test")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    commits: list[int] = []
    opened = Store(database_url, [NOTES], on_commit=lambda _, n: commits.append(n))
    opened.start()
    opened.commits = commits  # type: ignore[attr-defined]
    yield opened
    opened.close()


def test_write_returns_after_commit_visible_to_another_connection_many_threads(
    store: Store, database_url: str
) -> None:
    seen: list[bool] = []
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(20):
                store.write_blocking(NOTES, [(f"t{k}", i, 0.5)], timeout=30)
                rows = read_table(database_url, NOTES)  # its own connection
                seen.append(any(r["request_id"] == f"t{k}" and r["n"] == i for r in rows))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert len(seen) == 80 and all(seen)
    assert len(read_table(database_url, NOTES)) == 80


def test_concurrent_writes_share_commits_and_all_land(store: Store, database_url: str) -> None:
    futures = [store.submit(NOTES, [(f"r{i}", 0, 1.0), (f"r{i}", 1, 2.0)]) for i in range(300)]
    for f in futures:
        f.result(timeout=60)
    commits = store.commits  # type: ignore[attr-defined]
    assert sum(commits) == 600
    assert len(commits) < 300  # grouped: fewer transactions than writers
    assert len(read_table(database_url, NOTES)) == 600


def test_blocking_and_queued_writers_share_one_connection_and_all_land(
    store: Store, database_url: str
) -> None:
    """Thread-pool callers commit themselves, event-loop callers go through the writer
    thread: mixed, every row lands once and the blocking ones group their commits."""
    errors: list[BaseException] = []

    def blocking(k: int) -> None:
        try:
            for i in range(25):
                store.write_blocking(NOTES, [(f"b{k}", i, 0.0)], timeout=30)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=blocking, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    queued = [store.submit(NOTES, [(f"q{i}", 0, 1.0)]) for i in range(100)]
    for t in threads:
        t.join(timeout=120)
    for f in queued:
        f.result(timeout=60)
    assert not errors
    commits = store.commits  # type: ignore[attr-defined]
    assert sum(commits) == 300
    assert len(commits) < 300
    assert len(read_table(database_url, NOTES)) == 300


def test_close_commits_everything_queued(database_url: str) -> None:
    store = Store(database_url, [NOTES])
    store.start()
    for i in range(200):
        store.submit(NOTES, [(f"q{i}", k, 0.0) for k in range(50)])
    store.close()
    assert len(read_table(database_url, NOTES)) == 10_000


def test_a_retried_row_is_stored_once(store: Store, database_url: str) -> None:
    row = ("same-request", 1, 0.25)
    store.write_blocking(NOTES, [row], timeout=30)
    store.write_blocking(NOTES, [row], timeout=30)
    assert [(r["request_id"], r["n"], r["value"]) for r in read_table(database_url, NOTES)] == [row]


def test_failed_commit_refuses_the_write_and_logs_no_values(
    store: Store, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from serving.store import _Connection

    conn = _Connection(parse_url(database_url))
    conn.run([("DROP TABLE notes", None)])
    conn.close()
    with (
        caplog.at_level(logging.ERROR, logger="handoff.serving"),
        pytest.raises(StoreUnavailable),
    ):
        store.write_blocking(NOTES, [(SECRET_VALUE, 1, 0.0)], timeout=30)
    assert "not committed after 3 attempts" in caplog.text
    assert SECRET_VALUE not in caplog.text


def test_write_before_start_is_refused(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'x.sqlite'}", [NOTES])
    with pytest.raises(StoreUnavailable):
        store.write_blocking(NOTES, [("a", 1, 0.0)], timeout=1)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://db/x", "must start sqlite:/// or postgresql://"),
        ("sqlite://relative.db", "sqlite:///relative/path"),
        ("sqlite:///x.db?synchronous=off", "synchronous= takes normal or full"),
        ("sqlite:///x.db?journal=delete", "unknown SQLite URL option(s): journal"),
    ],
)
def test_bad_url_is_refused_naming_the_problem(url: str, problem: str) -> None:
    with pytest.raises(StoreError) as refused:
        parse_url(url)
    assert problem in str(refused.value)


def test_postgresql_url_is_shown_without_its_password() -> None:
    url = parse_url("postgresql+psycopg://ann:s3cret@db.internal:5433/serving")
    assert url.dialect == "postgresql"
    assert url.shown == "postgresql://ann@db.internal:5433/serving"
    assert "+psycopg" not in url.target and "s3cret" in url.target


def test_unreachable_database_fails_at_start_without_the_password() -> None:
    store = Store("postgresql://ann:s3cret@127.0.0.1:9/serving", [NOTES])
    with pytest.raises(StoreError) as refused:
        store.start()
    assert "postgresql://ann@127.0.0.1:9/serving cannot be used" in str(refused.value)
    assert "s3cret" not in str(refused.value)


def test_sqlite_synchronous_option_reaches_the_connection(tmp_path: Path) -> None:
    from serving.store import _Connection

    for option, level in (("", 1), ("?synchronous=full", 2)):
        conn = _Connection(parse_url(f"sqlite:///{tmp_path / 'x.sqlite'}{option}"))
        conn.open()
        assert conn.raw.execute("PRAGMA synchronous").fetchone()[0] == level
        assert conn.raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()


def test_old_score_log_win_columns_are_renamed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as old:
        cols = [
            c if not c.startswith("combined_") else c.replace("combined_", "win_")
            for c in SCORE_LOG.column_names
        ]
        old.execute(f"CREATE TABLE score_log (id INTEGER PRIMARY KEY, {', '.join(cols)})")
        old.execute(
            f"INSERT INTO score_log ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            ("r", "L", "1", 1, 2, 3, 0.1, 0.2, 0.3, "nurture", "a", "b"),
        )
    store = Store(f"sqlite:///{path}", [SCORE_LOG], migrations=[rename_win_columns])
    store.start()
    store.close()
    (row,) = read_table(f"sqlite:///{path}", SCORE_LOG)
    assert row["combined_score"] == 3 and row["combined_probability"] == 0.3


def test_serve_refuses_an_unreachable_database_in_one_line_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before any worker starts: one line naming the database, never its password."""
    from typer.testing import CliRunner

    from handoff_cli import app

    monkeypatch.setenv("HANDOFF_HOME", str(tmp_path))
    monkeypatch.setenv("HANDOFF_DEV_MODE", "true")
    monkeypatch.setenv("HANDOFF_DATABASE_URL", "postgresql://ann:s3cret@127.0.0.1:9/serving")
    result = CliRunner().invoke(app, ["serve", "--workers", "2", "--port", "9"])
    assert result.exit_code == 1
    assert (
        "handoff serve: serving database postgresql://ann@127.0.0.1:9/serving cannot be used"
        in (result.output)
    )
    assert "s3cret" not in result.output
