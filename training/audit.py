"""The governance audit log: one JSON line per decision, never rewritten.

Model-version tags hold only each team's *current* decision; this log is the history that
shows who decided what, when, about which exact model and policy (the binding). Writers
append whole lines under an exclusive `fcntl` lock, so concurrent commands never interleave.
The same module holds the governance lock that serialises sign-offs, promotions and rollbacks.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from models.settings import Settings

Action = Literal[
    "signoff",
    "rejection",
    "promotion",
    "refusal",
    "rollback",
    "challenger",
    "challenger_cleared",
]
LOCK_TIMEOUT_SECONDS = 300.0


class GovernanceLockTimeout(TimeoutError):
    """Another governance command held the lock for longer than we were willing to wait."""


def utc_now() -> str:
    """ISO-8601 UTC timestamp with microseconds, the one format the log and the tags use."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@contextmanager
def exclusive_lock(path: Path, *, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold an exclusive `flock` on `path` (created if absent) for the body.

    `flock` belongs to the open file description, so separate threads and separate
    processes that each open the file exclude one another.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise GovernanceLockTimeout(
                        f"waited {timeout:.0f}s for {path}; another sign-off, promotion or "
                        "rollback is still running"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def governance_lock(settings: Settings) -> AbstractContextManager[None]:
    """The one lock under `settings.home` that sign-off, promotion and rollback all take."""
    return exclusive_lock(Path(settings.home) / "governance.lock")


def append_event(
    settings: Settings,
    *,
    action: Action,
    version: str | None,
    by: str,
    binding: str | None,
    **details: Any,
) -> dict[str, Any]:
    """Append one decision to the audit log and return the record written.

    The line is written with a single `write` on an `O_APPEND` descriptor while holding an
    exclusive lock on the log itself, then fsync'd: a crash leaves whole lines only.
    """
    record: dict[str, Any] = {
        "at": utc_now(),
        "action": action,
        "version": None if version is None else str(version),
        "by": by,
        "binding": binding,
        "model_name": settings.model_name,
        **details,
    }
    line = (json.dumps(record, sort_keys=False, default=str) + "\n").encode("utf-8")
    path = Path(settings.audit_log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            written = os.write(fd, line)
            if written != len(line):  # pragma: no cover - only on a full disk
                raise OSError(f"short write to the audit log {path}: {written}/{len(line)}")
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    return record


def append_refusal(
    settings: Settings,
    *,
    version: str | None,
    by: str,
    binding: str | None,
    refused: str,
    reasons: list[str],
    **details: Any,
) -> dict[str, Any]:
    """Record a refused governance step (`refused` says what was refused) with every reason."""
    return append_event(
        settings,
        action="refusal",
        version=version,
        by=by,
        binding=binding,
        refused=refused,
        reasons=reasons,
        **details,
    )


def read_events(settings: Settings, *, version: str | None = None) -> list[dict[str, Any]]:
    """Every record in the log, oldest first (optionally only those about one version)."""
    path = Path(settings.audit_log_path)
    if not path.exists():
        return []
    records = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    if version is not None:
        records = [r for r in records if r.get("version") == str(version)]
    return records
