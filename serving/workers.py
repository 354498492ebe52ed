"""What each worker process of one server serves, so any worker can answer `/readyz` for all.

Every worker follows the champion alias on its own; a load balancer asks one of them, so
readiness must speak for every process behind the port. Each worker publishes its state
(the version it serves, or why none) as a small JSON file in the server's state directory,
replaced atomically on every change; `readiness` reads them all. Files of processes that
are gone (a worker that died and was restarted under a new pid) are ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

_PREFIX = "worker-"


@dataclass(frozen=True)
class WorkerState:
    pid: int
    version: str | None
    reason: str


@dataclass(frozen=True)
class Readiness:
    """`/readyz`'s answer: ready when every worker serves a signed-off champion.

    `version` is set when they all serve the same one; during a swap (some workers already
    on the new version) the server stays ready, `version` is None and `reason` says so.
    """

    ready: bool
    version: str | None
    reason: str | None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def readiness(states: list[WorkerState], expected: int) -> Readiness:
    """The one rule: every one of `expected` workers is up and has a champion."""
    if len(states) < expected:
        return Readiness(False, None, f"{len(states)} of {expected} workers have started")
    missing = [s for s in states if s.version is None]
    if missing:
        reasons = sorted({s.reason for s in missing})
        prefix = "" if len(missing) == len(states) else f"{len(missing)} of {len(states)} workers: "
        return Readiness(False, None, prefix + "; ".join(reasons))
    versions = sorted({str(s.version) for s in states}, key=lambda v: (len(v), v))
    if len(versions) == 1:
        return Readiness(True, versions[0], None)
    return Readiness(True, None, f"workers are changing version (serving {', '.join(versions)})")


class WorkerBoard:
    """One server's state directory: this worker writes its file, anyone reads them all."""

    def __init__(self, directory: Path, expected: int) -> None:
        self.directory = Path(directory)
        self.expected = expected
        self.pid = os.getpid()

    @property
    def _own(self) -> Path:
        return self.directory / f"{_PREFIX}{self.pid}.json"

    def publish(self, version: str | None, reason: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".{_PREFIX}{self.pid}.tmp"
        tmp.write_text(json.dumps({"pid": self.pid, "version": version, "reason": reason}))
        os.replace(tmp, self._own)

    def withdraw(self) -> None:
        self._own.unlink(missing_ok=True)

    def states(self) -> list[WorkerState]:
        """The live workers' states (files of dead processes are skipped)."""
        out: list[WorkerState] = []
        for path in sorted(self.directory.glob(f"{_PREFIX}*.json")):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # replaced or removed while we read: its next state will be there
            pid = int(data["pid"])
            if _alive(pid):
                out.append(WorkerState(pid, data.get("version"), str(data.get("reason", ""))))
        return out

    def readiness(self) -> Readiness:
        return readiness(self.states(), self.expected)
