"""`handoff mapping check`: what each table of an export gives through a mapping, before
anyone trains on it.

Per table: rows, how it reaches the leads (joined share, linked rows), timestamps read and
unreadable, what it made (events, stages) and what it left out, counted. Then the leads:
how many pass the contracts, how many are censored at the horizon (and how many of those
are still open), events per lead, and each extra with its cardinality. It reads and checks
only: nothing is written, not even quarantine files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_contracts.export_report import ExportReport
from data_contracts.mapping import read_crm
from data_contracts.validate import ValidationResult, validate_crm
from features.labels import make_labels


@dataclass(frozen=True)
class MappingCheck:
    """A mapped export as training would see it."""

    report: ExportReport
    validation: ValidationResult
    horizon_days: int
    n_censored: int
    n_censored_open: int
    events_per_lead: float

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.report.to_dict(),
            "valid": self.validation.counts,
            "failures": len(self.validation.failures),
            "horizon_days": self.horizon_days,
            "censored": self.n_censored,
            "censored_open": self.n_censored_open,
            "events_per_lead": self.events_per_lead,
        }

    def text(self) -> str:
        r, v = self.report, self.validation
        n = r.n_leads
        lines = [f"Mapping {r.mapping}: {n:,} leads", "", "Tables:"]
        for t in r.tables:
            share = t.joined_share(n)
            reach = (
                ""
                if share is None
                else f", {share:.1%} of leads joined"
                if t.role == "join"
                else f", {share:.1%} of rows reach a lead"
            )
            lines.append(f"  {t.name} ({', '.join(t.files)}): {t.rows:,} rows, {t.role}{reach}")
            for column, (read, bad) in t.timestamps.items():
                lines.append(f"      time {column}: {read:,} read, {bad:,} unreadable")
            if t.made:
                made = ", ".join(f"{k} {v:,}" for k, v in sorted(t.made.items()))
                lines.append(f"      made: {made}")
            if t.open_rows:
                lines.append(f"      still open (not closed): {t.open_rows:,}")
            for why, count in sorted(t.left_out.items(), key=lambda kv: -kv[1]):
                lines.append(f"      not used: {count:,} rows: {why}")
        lines += ["", "Contracts:"]
        for table, c in v.counts.items():
            lines.append(
                f"  {table:<9} {c['rows']:>10,} rows {c['valid']:>10,} valid {c['quarantined']:>8,} quarantined"
            )
        if len(v.failures):
            summary = v.failures.groupby(["file", "column", "check"], dropna=False).size()
            for key, count in summary.sort_values(ascending=False).head(10).items():
                lines.append(f"  failing: {': '.join(map(str, key))} x{count:,}")  # type: ignore[call-overload]
        lines += [
            "",
            "Leads:",
            f"  events per lead: {self.events_per_lead:.2f}",
            f"  with no closed stage yet: {r.open_leads:,}",
            f"  censored at a {self.horizon_days}-day horizon: {self.n_censored:,} "
            f"({self.n_censored_open:,} of them still open)",
        ]
        if r.absent:
            lines.append(f"  absent fields (no feature, no reason): {', '.join(r.absent)}")
        if r.extras:
            lines += ["", "Extras:"]
            for e in r.extras:
                kept = f"; kept as id-like: {e.id_like}" if e.id_like else ""
                lines.append(
                    f'  {e.name} ({e.role}, {e.kind}) "{e.label}": {e.distinct:,} distinct, '
                    f"{e.missing_share:.1%} missing{kept}"
                )
        return "\n".join(lines)


def check_mapping(mapping: Path, data_dir: Path, *, horizon_days: int = 180) -> MappingCheck:
    """Read `data_dir` through `mapping`, check the contracts and label the valid leads."""
    crm = read_crm(Path(data_dir), Path(mapping))
    assert crm.report is not None
    validation = validate_crm(crm)
    valid = validation.valid
    n_censored = n_open = 0
    if len(valid.leads):
        labels = make_labels(
            valid.leads, valid.outcomes, horizon_days=horizon_days, data_end=valid.data_end
        )
        censored = labels["censored"].to_numpy(dtype=bool)
        n_censored = int(censored.sum())
        n_open = int((censored & labels["open"].to_numpy(dtype=bool)).sum())
    return MappingCheck(
        report=crm.report,
        validation=validation,
        horizon_days=horizon_days,
        n_censored=n_censored,
        n_censored_open=n_open,
        events_per_lead=len(valid.events) / len(valid.leads) if len(valid.leads) else 0.0,
    )
