"""What each table of a mapped export contributed: rows, joins, timestamps, what was left out.

A mapping reports here everything it did not turn into a contract row on purpose (a row of
an unmapped activity type, a row that reaches no lead, an open deal), so nothing is
dropped without a count. `handoff validate` prints the `notes`; `handoff mapping check`
prints the whole report with the censoring and events per lead on top.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

TOP_VALUES = 5


@dataclass
class TableReport:
    """One export table: its files and rows, how it reached the leads, what it gave."""

    name: str
    files: tuple[str, ...]
    rows: int
    role: str  # "leads", "join", "link", "association", "accounts" (only) or "unused"
    matched: int | None = None  # join: leads with a row; link: rows reaching a lead
    duplicate_keys: int = 0  # join: key values found more than once (the first row joins)
    timestamps: dict[str, list[int]] = field(default_factory=dict)  # column -> [read, unreadable]
    made: Counter[str] = field(default_factory=Counter)  # "events", or a stage -> rows
    open_rows: int = 0  # deals neither won nor closed: their leads wait for their horizon
    left_out: Counter[str] = field(default_factory=Counter)  # why -> rows

    def joined_share(self, n_leads: int) -> float | None:
        if self.matched is None:
            return None
        base = n_leads if self.role == "join" else self.rows
        return self.matched / base if base else 0.0


@dataclass
class ExtraReport:
    name: str
    role: str
    kind: str
    label: str
    distinct: int
    missing_share: float
    id_like: str | None = None  # why it is kept although it looks like an identifier


@dataclass
class ExportReport:
    """The whole export as the mapping read it."""

    mapping: str
    n_leads: int
    tables: list[TableReport] = field(default_factory=list)
    extras: list[ExtraReport] = field(default_factory=list)
    absent: tuple[str, ...] = ()
    open_leads: int = 0  # leads with no closed stage: censored until their horizon ends

    def table(self, name: str) -> TableReport:
        return next(t for t in self.tables if t.name == name)

    def notes(self) -> list[str]:
        """One line per table that left rows out (unmapped, unlinked, filtered), for
        validation's report: counted, never silent."""
        lines = []
        for t in self.tables:
            for why, n in sorted(t.left_out.items(), key=lambda kv: -kv[1]):
                lines.append(f"{t.name} ({', '.join(t.files)}): {n:,} rows not used: {why}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "mapping": self.mapping,
            "n_leads": self.n_leads,
            "absent_fields": list(self.absent),
            "open_leads": self.open_leads,
            "tables": [
                {
                    "name": t.name,
                    "files": list(t.files),
                    "rows": t.rows,
                    "role": t.role,
                    "matched": t.matched,
                    "joined_share": t.joined_share(self.n_leads),
                    "duplicate_keys": t.duplicate_keys,
                    "timestamps": {
                        k: {"read": v[0], "unreadable": v[1]} for k, v in t.timestamps.items()
                    },
                    "made": dict(t.made),
                    "open": t.open_rows,
                    "left_out": dict(t.left_out),
                }
                for t in self.tables
            ],
            "extras": [vars(e) for e in self.extras],
        }


def value_counts_text(counts: Counter[str], what: str) -> dict[str, int]:
    """`{f"{what} 'x'": n}` for the most frequent values, and one line for the rest."""
    out: dict[str, int] = {}
    common = counts.most_common(TOP_VALUES)
    for value, n in common:
        out[f"{what} {value!r}"] = n
    rest = sum(counts.values()) - sum(n for _, n in common)
    if rest:
        out[f"{what}: {len(counts) - len(common)} other values"] = rest
    return out
