"""The audit log: append-only JSON lines, whole lines under concurrent writers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from models.settings import Settings
from training.audit import (
    GovernanceLockTimeout,
    append_event,
    exclusive_lock,
    read_events,
)

WRITER = """
import sys
from pathlib import Path
from models.settings import Settings
from training.audit import append_event
settings = Settings(home=Path(sys.argv[1]))
for i in range(int(sys.argv[3])):
    append_event(settings, action="signoff", version=str(i), by=sys.argv[2], binding="b" * 64,
                 comment="x" * 5000)
"""


def test_audit_append_keeps_every_record_in_order(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    append_event(settings, action="signoff", version="1", by="ann", binding="abc", team="bdr")
    append_event(settings, action="rejection", version="1", by="bob", binding="abc", team="bdr")
    append_event(settings, action="promotion", version="2", by="cy", binding="def")
    records = read_events(settings)
    assert [r["action"] for r in records] == ["signoff", "rejection", "promotion"]
    assert [r["by"] for r in read_events(settings, version="1")] == ["ann", "bob"]
    for record in records:
        assert record["at"].endswith("+00:00")
        assert {"version", "by", "binding", "model_name"} <= set(record)


def test_audit_concurrent_processes_never_interleave_lines(tmp_path: Path) -> None:
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), f"writer{i}", "60"],
            cwd=Path(__file__).resolve().parents[2],
        )
        for i in range(3)
    ]
    assert all(w.wait(timeout=120) == 0 for w in writers)
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 180
    records = [json.loads(line) for line in lines]  # every line is whole JSON
    for i in range(3):
        mine = [r["version"] for r in records if r["by"] == f"writer{i}"]
        assert mine == [str(k) for k in range(60)]


def test_audit_exclusive_lock_excludes_other_threads(tmp_path: Path) -> None:
    lock = tmp_path / "governance.lock"
    inside: list[int] = []
    overlap: list[bool] = []

    def hold(i: int) -> None:
        with exclusive_lock(lock):
            inside.append(i)
            overlap.append(len(inside) > 1)
            time.sleep(0.05)
            inside.remove(i)

    threads = [threading.Thread(target=hold, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlap == [False] * 4


def test_audit_lock_times_out_with_a_clear_error(tmp_path: Path) -> None:
    lock = tmp_path / "governance.lock"
    with (
        exclusive_lock(lock),
        pytest.raises(GovernanceLockTimeout, match="another sign-off"),
        exclusive_lock(lock, timeout=0.2),
    ):
        pass
