"""The accounts section of an account version's report: test accounts per quadrant and win
rate by buying-group roles covered, each win rate with its Wilson interval.

Computed at training (`accounts_section`, logged as `ACCOUNTS_FILE`) and rendered by the
report (`training.report`), so the numbers a reviewer reads are the run's own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from data_contracts.vocab import QUADRANTS
from features.account_sets import GROUP_ROLES
from models.calibration import wilson


def _row(label: str, won: npt.NDArray[np.int64]) -> dict[str, Any]:
    n, wins = len(won), int(won.sum())
    low, high = wilson(wins, n)
    return {
        "group": label,
        "accounts": n,
        "wins": wins,
        "win_rate": wins / n if n else None,
        "low": None if not n else low,
        "high": None if not n else high,
    }


def accounts_section(
    quadrants: npt.ArrayLike, roles_covered: npt.ArrayLike, y: npt.ArrayLike
) -> dict[str, Any]:
    """{"quadrants": rows in policy order, "roles_covered": rows 0..len(GROUP_ROLES)}, each
    row the test account rows in it, their wins and win rate with a Wilson 95% interval."""
    q = np.asarray(quadrants, dtype=object)
    covered = np.asarray(roles_covered, dtype=np.int64)
    won = np.asarray(y, dtype=np.int64)
    return {
        "quadrants": [_row(name, won[q == name]) for name in QUADRANTS],
        "roles_covered": [_row(str(k), won[covered == k]) for k in range(len(GROUP_ROLES) + 1)],
        "n_rows": len(won),
    }


def section_lines(section: dict[str, Any]) -> list[str]:
    """The section as plain lines (the training summary and the report's text)."""

    def line(row: dict[str, Any]) -> str:
        if not row["accounts"]:
            return f"  {row['group']:<16} {0:>6}  -"
        return (
            f"  {row['group']:<16} {row['accounts']:>6,}  {row['win_rate']:.1%} "
            f"(95% {row['low']:.1%} to {row['high']:.1%})"
        )

    return [
        "accounts by quadrant (test rows, win rate with Wilson interval):",
        *(line(r) for r in section["quadrants"]),
        "win rate by buying-group roles covered:",
        *(line(r) for r in section["roles_covered"]),
    ]
