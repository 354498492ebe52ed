"""The leakage guard: every model input is checked on the training window before any fit.

A column filled in after the outcome (a segment sales types in at close, a tag that says
"won") makes every model look perfect and every reason code a lie. Nothing in an export
says which columns those are, so the guard looks for what such columns do to the data:

- `alone`: one column by itself ranks the training window almost perfectly;
- `beyond_rest`: one column by itself beats all the others together by a wide margin;
- `missingness`: whether it is filled in at all nearly decides the outcome;
- `decisive_values`: some of its values are held almost only by won leads and hold a good
  share of all wins, and either they are purer than honest data gets or other values are
  held almost only by lost leads (sales-entered tags and ratings do this; an honest form
  origin can win almost always, but then no other origin loses for sure);
- `after_snapshot`: its values are timestamps later than the lead's snapshot.

A suspect is excluded from every model and baseline unless the mapping keeps it with a
reason (`[keep]`); both are recorded in the run. One column's power is measured out of
fold (five folds, values encoded by their smoothed win rate in the other folds), so a
near-unique column (an id, an email) cannot look predictive by memorising rows.

Why near-certain *losses* alone never count: honest data has them (a lead that never
engaged almost never wins), and a guard that fires on the strongest true signal is ignored.
They count only beside near-certain wins in the same column. The bounds were set on the
training windows of generated data and of Leads X (`tests/benchmarks/bench_leakage.py`
measures the false alarms and what is caught).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from features.build import FeatureFrame
from training.evaluate import rank_auc

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# The rules, in the words a run, the CLI and the report use (one home).
RULES: dict[str, str] = {
    "alone": "ranks the training window almost perfectly by itself",
    "beyond_rest": "by itself beats every other column, alone or together, by a wide margin",
    "missingness": "whether it is filled in nearly decides the outcome",
    "decisive_values": "has values held almost only by won leads (near-sure outcomes)",
    "after_snapshot": "holds timestamps later than the lead's snapshot",
}
EXCLUDED = "excluded"
KEPT = "kept"

ALONE_AUC = 0.95  # one column's out-of-fold AUC
BEYOND_REST_AUC = 0.10  # its lead over all the other columns together
DECISIVE_ODDS = 20.0  # a value's odds of winning over the window's odds (or its inverse)
PURE_ODDS = 50.0  # so pure a value needs no losing values beside it to be suspect
DECISIVE_SHARE = 0.10  # of all wins (or, filled only for losses, of all losses)
LOST_SHARE = 0.05  # of all losses, held by the near-sure losing values beside them
MIN_VALUE_ROWS = 20  # a value (or a filled/missing group) needs this many rows to count
AFTER_SNAPSHOT_SHARE = 0.01  # of a timestamp column's filled values
TIMESTAMP_SHARE = 0.9  # of filled values that must read as ISO timestamps
NUMERIC_BINS = 20
FOLDS = 5
PRIOR_LEADS = 20.0  # pseudo-leads at the window's win rate in the out-of-fold encoding
SEED = 0
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


@dataclass(frozen=True)
class Finding:
    """One suspected column: the rule that caught it, its power alone, what was done."""

    column: str  # the model input (feature column)
    source: str | None  # the mapped extra it is built from (its name in the mapping)
    rule: str  # a key of RULES
    detail: str  # the numbers behind the rule, in words
    auc: float  # one-column out-of-fold AUC on the training window
    action: str  # EXCLUDED or KEPT
    reason: str = ""  # the mapping's reason, when kept

    @property
    def kept(self) -> bool:
        return self.action == KEPT

    def sentence(self) -> str:
        """One line for the CLI, the report and a version tag."""
        name = self.column + (f" (from '{self.source}')" if self.source else "")
        what = f"{name} {RULES[self.rule]}: {self.detail}; one-column AUC {self.auc:.3f}"
        if self.kept:
            return f"{what}. KEPT because the mapping says: {self.reason}"
        return f"{what}. Excluded from every model and baseline."

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LeakageReport:
    """What the guard checked and found, as a run records it (`leakage.json`)."""

    rows: int
    wins: int
    columns: int
    findings: tuple[Finding, ...] = ()
    strongest: tuple[tuple[str, float], ...] = ()  # unsuspected columns, best AUC first
    unused_keeps: dict[str, str] = field(default_factory=dict)

    @property
    def excluded(self) -> list[str]:
        return [f.column for f in self.findings if not f.kept]

    @property
    def kept(self) -> list[Finding]:
        return [f for f in self.findings if f.kept]

    def lines(self) -> list[str]:
        """The CLI's account: what was caught and done, or that nothing was."""
        head = (
            f"leakage guard: {self.columns} input columns checked on {self.rows:,} training "
            f"leads ({self.wins:,} wins)"
        )
        if not self.findings:
            best = ", ".join(f"{c} {a:.3f}" for c, a in self.strongest[:3])
            return [f"{head}: no suspect (strongest alone: {best or '-'})"]
        return [f"{head}: {len(self.findings)} suspect(s)"] + [
            f"  - {f.sentence()}" for f in self.findings
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "wins": self.wins,
            "columns": self.columns,
            "rules": dict(RULES),
            "findings": [f.to_dict() for f in self.findings],
            "excluded": self.excluded,
            "kept": [f.column for f in self.kept],
            "strongest": [{"column": c, "auc": a} for c, a in self.strongest],
            "unused_keeps": dict(self.unused_keeps),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeakageReport:
        return cls(
            rows=int(data["rows"]),
            wins=int(data["wins"]),
            columns=int(data["columns"]),
            findings=tuple(Finding(**f) for f in data.get("findings", [])),
            strongest=tuple((str(s["column"]), float(s["auc"])) for s in data.get("strongest", [])),
            unused_keeps=dict(data.get("unused_keeps", {})),
        )


class UnknownKeep(ValueError):
    """The mapping keeps a column that is no model input."""


# ---------------------------------------------------------------- measuring one column


def value_tokens(values: pd.Series, categorical: bool) -> IntArray:
    """0 for missing, 1.. for each category or numeric quantile bin of the window."""
    if categorical or not pd.api.types.is_numeric_dtype(values.dtype):
        if isinstance(values.dtype, pd.CategoricalDtype):
            return np.asarray(values.cat.codes.to_numpy(), dtype=np.int64) + 1
        codes, _ = pd.factorize(values.astype(object), use_na_sentinel=True)
        return np.asarray(codes, dtype=np.int64) + 1
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    finite = v[np.isfinite(v)]
    if len(finite) == 0:
        return np.zeros(len(v), dtype=np.int64)
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, NUMERIC_BINS + 1)[1:-1]))
    bins = np.searchsorted(edges, np.where(np.isfinite(v), v, 0.0), side="right") + 1
    return np.where(np.isfinite(v), bins, 0).astype(np.int64)


def out_of_fold_rate(tokens: IntArray, y: FloatArray, folds: IntArray) -> FloatArray:
    """Each row's value encoded by its smoothed win rate in the other folds."""
    size = int(tokens.max()) + 1 if len(tokens) else 1
    rate = float(y.mean()) if len(y) else 0.0
    cell = folds * size + tokens  # (fold, value) in one index: one counting pass for all folds
    count = np.bincount(cell, minlength=FOLDS * size).reshape(FOLDS, size)
    won = np.bincount(cell, weights=y, minlength=FOLDS * size).reshape(FOLDS, size)
    other_count = count.sum(axis=0) - count
    other_won = won.sum(axis=0) - won
    return np.asarray(
        (other_won[folds, tokens] + PRIOR_LEADS * rate)
        / (other_count[folds, tokens] + PRIOR_LEADS),
        dtype=np.float64,
    )


def _odds(p: FloatArray | float) -> Any:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return p / (1 - p)


def _smoothed(won: FloatArray, count: FloatArray, base: float) -> FloatArray:
    """Win rate with two pseudo-leads at the window's rate (a value of 20 wins in 20 is
    decisive, 1 in 1 is not)."""
    return (won + 2.0 * base) / (count + 2.0)


def _decisive_values(tokens: IntArray, y: FloatArray) -> str | None:
    """Values held almost only by won leads, holding a good share of all wins: either so
    pure that honest data does not show it (odds ≥ `PURE_ODDS` times the window's), or
    beside other values held almost only by *lost* leads (the column sorts leads into
    near-sure wins and near-sure losses, as an outcome typed in by sales does)."""
    base = float(y.mean())
    count = np.bincount(tokens).astype(np.float64)
    won = np.asarray(np.bincount(tokens, weights=y), dtype=np.float64)
    lost = count - won
    ratio = _odds(_smoothed(won, count, base)) / _odds(base)
    counted = count >= MIN_VALUE_ROWS
    counted[0] = False  # missing is the missingness rule's
    wins, losses = max(y.sum(), 1.0), max((1 - y).sum(), 1.0)
    winning = counted & (ratio >= DECISIVE_ODDS)
    pure = counted & (ratio >= PURE_ODDS)
    losing = counted & (ratio <= 1 / DECISIVE_ODDS)
    if won[winning].sum() / wins >= DECISIVE_SHARE and lost[losing].sum() / losses >= LOST_SHARE:
        pick = winning
        beside = (
            f", while {int(losing.sum())} other value(s) hold {lost[losing].sum() / losses:.0%} "
            f"of all losses and win at {won[losing].sum() / count[losing].sum():.1%}"
        )
    elif won[pure].sum() / wins >= DECISIVE_SHARE:
        pick, beside = pure, ""
    else:
        return None
    return (
        f"{int(pick.sum())} value(s) with {int(count[pick].sum()):,} leads win at "
        f"{won[pick].sum() / count[pick].sum():.1%} (window {base:.1%}) and hold "
        f"{won[pick].sum() / wins:.0%} of all wins{beside}"
    )


def _missingness(tokens: IntArray, y: FloatArray) -> str | None:
    filled = tokens > 0
    n_filled = int(filled.sum())
    if min(n_filled, len(y) - n_filled) < MIN_VALUE_ROWS:
        return None
    base = float(y.mean())
    wins, losses = max(y.sum(), 1.0), max((1 - y).sum(), 1.0)
    groups = (("filled", filled), ("missing", ~filled))
    for name, rows in groups:
        won = float(y[rows].sum())
        rate = float(_smoothed(np.array([won]), np.array([float(rows.sum())]), base)[0])
        ratio = _odds(rate) / _odds(base)
        if ratio >= DECISIVE_ODDS and won / wins >= DECISIVE_SHARE:
            return f"{name} for {int(rows.sum()):,} leads who win at {won / rows.sum():.1%} (window {base:.1%})"
        lost = float(rows.sum()) - won
        if name == "filled" and ratio <= 1 / DECISIVE_ODDS and lost / losses >= DECISIVE_SHARE:
            return f"filled for {int(rows.sum()):,} leads who win at {won / rows.sum():.1%} (window {base:.1%})"
    return None


def _after_snapshot(raw: pd.Series | None, snapshot: pd.Series) -> str | None:
    """ISO timestamps later than the snapshot: the value was written after hand-off."""
    if raw is None:
        return None
    text = raw.astype(object).where(raw.notna(), None).dropna().astype(str).str.strip()
    if text.empty or text.str.match(_ISO).mean() < TIMESTAMP_SHARE:
        return None
    stamps = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    when = pd.to_datetime(snapshot, utc=True).reindex(stamps.index)
    later = (stamps > when).to_numpy(dtype=bool)
    share = float(later.mean())
    if share < AFTER_SNAPSHOT_SHARE:
        return None
    return f"{share:.0%} of its {len(stamps):,} timestamps are after the lead's snapshot"


# ---------------------------------------------------------------- the guard


def _folds(n: int) -> IntArray:
    return np.asarray(np.random.default_rng(SEED).integers(0, FOLDS, n), dtype=np.int64)


def _log_odds(p: FloatArray, base: float) -> FloatArray:
    return np.asarray(np.log(_odds(p)) - np.log(_odds(base)), dtype=np.float64)


def _resolve_keeps(
    keep: Mapping[str, str], columns: Sequence[str], sources: Mapping[str, str | None]
) -> dict[str, str]:
    """Feature column -> reason; a keep may name the feature or the mapped export column."""
    by_source = {src: col for col, src in sources.items() if src}
    out: dict[str, str] = {}
    unknown = []
    for name, reason in keep.items():
        column = name if name in columns else by_source.get(name)
        if column is None:
            unknown.append(name)
        else:
            out[column] = reason
    if unknown:
        raise UnknownKeep(
            f"the mapping's [keep] names {sorted(unknown)}, which are no model input; "
            f"inputs: {', '.join(columns)}"
        )
    return out


def check_columns(
    X: pd.DataFrame,
    y: npt.ArrayLike,
    *,
    categorical: Sequence[str],
    sources: Mapping[str, str | None] | None = None,
    raw: Mapping[str, pd.Series] | None = None,
    snapshot: pd.Series | None = None,
    keep: Mapping[str, str] | None = None,
) -> LeakageReport:
    """Check every column of the training window `X` (labels `y`) before any model sees it.

    `sources`: feature column -> the mapped export column (extras); `raw`: that column's
    values as exported, indexed like X, with `snapshot` the leads' snapshot times (for the
    timestamp rule); `keep`: the mapping's `[keep]` {column: reason}.
    """
    labels = np.asarray(y, dtype=float)
    columns = [str(c) for c in X.columns]
    sources = dict(sources or {})
    keeps = _resolve_keeps(keep or {}, columns, sources)
    cats = set(categorical)
    folds = _folds(len(labels))
    base = float(labels.mean())
    tokens = {c: value_tokens(X[c], c in cats) for c in columns}
    # A column with one value (an unmapped contract field, no events) ranks nothing.
    varied = {c: t for c, t in tokens.items() if len(t) and t.min() != t.max()}
    encoded = {c: out_of_fold_rate(t, labels, folds) for c, t in varied.items()}
    alone = {c: rank_auc(labels, encoded[c]) if c in encoded else 0.5 for c in columns}
    contributions = {c: _log_odds(p, base) for c, p in encoded.items()}
    total = np.sum(list(contributions.values()), axis=0) if encoded else np.zeros(len(labels))
    findings: list[Finding] = []
    for c in columns:
        auc = alone[c]
        caught: tuple[str, str] | None = None
        if auc >= ALONE_AUC:
            caught = ("alone", f"at least {ALONE_AUC:.2f} alone is suspect")
        best_other = max((a for other, a in alone.items() if other != c), default=0.5)
        # only a column already beyond every other one alone can be beyond them together
        if caught is None and c in encoded and auc - best_other >= BEYOND_REST_AUC:
            together = rank_auc(labels, total - contributions[c])
            if auc - max(together, best_other) >= BEYOND_REST_AUC:
                caught = (
                    "beyond_rest",
                    f"the best other column reaches {best_other:.3f}, all the others "
                    f"together {together:.3f}",
                )
        for rule, found in (
            ("missingness", _missingness(tokens[c], labels)),
            ("decisive_values", _decisive_values(tokens[c], labels)),
            (
                "after_snapshot",
                _after_snapshot((raw or {}).get(c), snapshot) if snapshot is not None else None,
            ),
        ):
            if caught is None and found is not None:
                caught = (rule, found)
        if caught is not None:
            findings.append(
                Finding(
                    column=c,
                    source=sources.get(c),
                    rule=caught[0],
                    detail=caught[1],
                    auc=round(float(auc), 4),
                    action=KEPT if c in keeps else EXCLUDED,
                    reason=keeps.get(c, ""),
                )
            )
    suspects = {f.column for f in findings}
    strongest = sorted(
        ((c, round(float(a), 4)) for c, a in alone.items() if c not in suspects),
        key=lambda item: -item[1],
    )
    return LeakageReport(
        rows=len(labels),
        wins=int(labels.sum()),
        columns=len(columns),
        findings=tuple(findings),
        strongest=tuple(strongest[:5]),
        unused_keeps={c: r for c, r in keeps.items() if c not in suspects},
    )


def guard_features(
    features: FeatureFrame,
    rows: npt.NDArray[np.intp],
    X: pd.DataFrame,
    y: npt.ArrayLike,
    *,
    leads: pd.DataFrame | None = None,
    snapshot: pd.Series | None = None,
    keep: Mapping[str, str] | None = None,
) -> tuple[FeatureFrame, pd.DataFrame, LeakageReport]:
    """Check the model inputs on the training rows `rows` of `X`; return the features and
    rows without the excluded columns, and the report.

    `leads` (the contract leads table, with the mapped extras as exported) feeds the
    timestamp rule; `snapshot` holds each labelled lead's snapshot time, indexed like X.
    """
    window = X.iloc[rows]
    sources = {f.name: f.source for fs in features.feature_sets for f in fs.features}
    raw: dict[str, pd.Series] = {}
    if leads is not None and "lead_id" in leads.columns:
        by_id = leads.set_index("lead_id")
        for column, source in sources.items():
            if source is not None and source in by_id.columns:
                raw[column] = by_id[source].reindex(window.index)
    report = check_columns(
        window,
        np.asarray(y)[rows],
        categorical=features.categorical_columns,
        sources=sources,
        raw=raw,
        snapshot=None if snapshot is None else snapshot.iloc[rows],
        keep=keep,
    )
    if not report.excluded:
        return features, X, report
    kept = features.without(report.excluded)
    return kept, X.drop(columns=report.excluded), report
